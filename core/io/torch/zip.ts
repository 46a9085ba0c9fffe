/**
 * Random-access reading of a zip archive, enough for PyTorch's `torch.save` files: the central directory is read
 * once at open, then each entry is read on request with positioned reads, so a 500 MB checkpoint is never held
 * whole. Entries are usually stored (torch writes them uncompressed and 64-byte aligned); deflated entries are
 * inflated with node:zlib. Zip64 archives (over 4 GB, or written with forced Zip64 records) are supported.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/** One file of the archive. */
export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Absolute offset of the entry's local header. */
  readonly localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const ZIP64_EXTRA_ID = 0x0001;
/** Fixed EOCD record (22 bytes) plus the longest comment a zip may carry. */
const EOCD_SEARCH_BYTES = 22 + 0xffff;
const STORED = 0;
const DEFLATE = 8;

/** An open zip archive. Call {@link close} when done. */
export class ZipReader {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private fd: number | null;
  private readonly dataOffsets = new Map<string, number>();
  /** The last inflated entry, kept because tensors of one storage are read one after another. */
  private inflated: { name: string; bytes: Buffer } | null = null;

  private constructor(
    readonly path: string,
    fd: number,
    entries: Map<string, ZipEntry>,
  ) {
    this.fd = fd;
    this.entries = entries;
  }

  /** Opens `path` and reads its central directory; throws naming the file when it is not a zip archive. */
  static open(path: string): ZipReader {
    const fd = openSync(path, 'r');
    try {
      return new ZipReader(path, fd, readCentralDirectory(fd, path));
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** The whole content of an entry. */
  read(name: string): Buffer {
    const entry = this.entry(name);
    return this.readRange(name, 0, entry.size);
  }

  /** Bytes `[begin, end)` of an entry's uncompressed content. */
  readRange(name: string, begin: number, end: number): Buffer {
    const entry = this.entry(name);
    if (begin < 0 || end > entry.size || begin > end) {
      throw new Error(`${this.path}: bytes [${begin}, ${end}) lie outside entry '${name}' of ${entry.size} bytes`);
    }
    if (entry.method === STORED) return this.readAt(this.dataOffset(entry) + begin, end - begin);
    if (this.inflated?.name !== name) {
      const raw = this.readAt(this.dataOffset(entry), entry.compressedSize);
      const bytes = inflateRawSync(raw);
      if (bytes.length !== entry.size) throw new Error(`${this.path}: entry '${name}' inflates to ${bytes.length} bytes, expected ${entry.size}`);
      this.inflated = { name, bytes };
    }
    return this.inflated.bytes.subarray(begin, end);
  }

  close(): void {
    if (this.fd != null) closeSync(this.fd);
    this.fd = null;
    this.inflated = null;
  }

  private entry(name: string): ZipEntry {
    const entry = this.entries.get(name);
    if (entry == null) throw new Error(`${this.path}: the archive has no entry '${name}'`);
    return entry;
  }

  /** Data starts after the local header, whose extra field (torch's alignment padding) may differ from the central one. */
  private dataOffset(entry: ZipEntry): number {
    let offset = this.dataOffsets.get(entry.name);
    if (offset === undefined) {
      const header = this.readAt(entry.localHeaderOffset, 30);
      if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) throw new Error(`${this.path}: entry '${entry.name}' has no local header`);
      offset = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
      this.dataOffsets.set(entry.name, offset);
    }
    return offset;
  }

  private readAt(position: number, length: number): Buffer {
    if (this.fd == null) throw new Error(`${this.path}: archive is closed`);
    return readExactly(this.fd, position, length, this.path);
  }
}

function readExactly(fd: number, position: number, length: number, path: string): Buffer {
  const bytes = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, bytes, done, length - done, position + done);
    if (n === 0) throw new Error(`${path}: file ends at byte ${position + done}, inside the zip structure`);
    done += n;
  }
  return bytes;
}

function readCentralDirectory(fd: number, path: string): Map<string, ZipEntry> {
  const fail = (why: string): never => {
    throw new Error(`${path}: not a zip archive (${why}); torch.save writes zip files since PyTorch 1.6`);
  };
  const fileSize = fstatSync(fd).size;
  if (fileSize < 22) fail('shorter than an end-of-directory record');
  const tailLength = Math.min(fileSize, EOCD_SEARCH_BYTES);
  const tailStart = fileSize - tailLength;
  const tail = readExactly(fd, tailStart, tailLength, path);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('no end-of-central-directory record');
  let count = tail.readUInt16LE(eocd + 10);
  let directorySize = tail.readUInt32LE(eocd + 12);
  let directoryOffset = tail.readUInt32LE(eocd + 16);
  // A Zip64 locator sits just before the EOCD record; its values replace the 16/32-bit ones.
  if (eocd >= 20 && tail.readUInt32LE(eocd - 20) === ZIP64_LOCATOR_SIGNATURE) {
    const recordOffset = readUInt64(tail, eocd - 20 + 8);
    const record = readExactly(fd, recordOffset, 56, path);
    if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) fail('bad Zip64 end-of-central-directory record');
    count = readUInt64(record, 32);
    directorySize = readUInt64(record, 40);
    directoryOffset = readUInt64(record, 48);
  }
  if (directoryOffset + directorySize > fileSize) fail('central directory lies outside the file');
  const directory = readExactly(fd, directoryOffset, directorySize, path);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_SIGNATURE) fail(`central directory entry ${i} is damaged`);
    const method = directory.readUInt16LE(at + 10);
    let compressedSize = directory.readUInt32LE(at + 20);
    let size = directory.readUInt32LE(at + 24);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    let localHeaderOffset = directory.readUInt32LE(at + 42);
    const name = directory.toString('utf8', at + 46, at + 46 + nameLength);
    // Zip64 extra field: 64-bit values for exactly those fields saturated at 0xFFFFFFFF, in this order.
    const extra = directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    for (let e = 0; e + 4 <= extra.length;) {
      const id = extra.readUInt16LE(e);
      const length = extra.readUInt16LE(e + 2);
      if (id === ZIP64_EXTRA_ID) {
        let p = e + 4;
        if (size === 0xffffffff) {
          size = readUInt64(extra, p);
          p += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = readUInt64(extra, p);
          p += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = readUInt64(extra, p);
      }
      e += 4 + length;
    }
    if (method !== STORED && method !== DEFLATE) fail(`entry '${name}' uses compression method ${method}; only stored and deflate are read`);
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function readUInt64(bytes: Buffer, offset: number): number {
  const value = bytes.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`zip offset ${value} exceeds what a JavaScript number holds exactly`);
  return Number(value);
}

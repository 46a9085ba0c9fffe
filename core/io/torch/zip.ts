/**
 * Random-access reading of a zip archive, enough for PyTorch's `torch.save` files: the central directory is read
 * once at open, then each entry is read on request with positioned reads, so a 500 MB checkpoint is never held
 * whole. Entries are usually stored (torch writes them uncompressed and 64-byte aligned); deflated entries are
 * inflated with node:zlib. Zip64 archives (over 4 GB, or written with forced Zip64 records) are supported.
 *
 * A checkpoint is input from elsewhere, so every size it declares is checked before anything is allocated: a stored
 * entry must lie inside the file, a deflated one is inflated into at most its declared size and never beyond the
 * caller's bound ({@link ZipLimits}), and every entry's CRC-32 is checked on its first read. A damaged or hostile
 * archive is a {@link UsageError} naming the file and the entry.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { UsageError } from '../../errors';

/** One file of the archive. */
export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  /** CRC-32 of the uncompressed content, as the central directory records it. */
  readonly crc32: number;
  /** Absolute offset of the entry's local header. */
  readonly localHeaderOffset: number;
}

/** What a caller allows an entry to inflate to. */
export interface ZipLimits {
  /**
   * Largest uncompressed size of a deflated entry that may be inflated (bytes). A stored entry is bounded by the file
   * itself; a deflated one only by what it declares, which a hostile file sets to gigabytes.
   */
  readonly maxInflatedBytes?: number;
}

/** Bytes read at once while a stored entry's CRC-32 is checked. */
const CRC_CHUNK_BYTES = 1 << 22;

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
  /** Entries whose CRC-32 has been checked. */
  private readonly verified = new Set<string>();

  private constructor(
    readonly path: string,
    fd: number,
    entries: Map<string, ZipEntry>,
    private readonly limits: ZipLimits,
  ) {
    this.fd = fd;
    this.entries = entries;
  }

  /**
   * Opens `path` and reads its central directory; throws a {@link UsageError} naming the file when it is missing, not
   * a zip archive, truncated, or declares an entry that cannot be in it.
   */
  static open(path: string, limits: ZipLimits = {}): ZipReader {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot be read (${code ?? (error as Error).message})`);
    }
    try {
      return new ZipReader(path, fd, readCentralDirectory(fd, path), limits);
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
      throw new UsageError(`${this.path}: bytes [${begin}, ${end}) lie outside entry '${name}' of ${entry.size} bytes`);
    }
    if (entry.method === STORED) {
      if (!this.verified.has(name)) this.verifyStored(entry);
      return this.readAt(this.dataOffset(entry) + begin, end - begin);
    }
    if (this.inflated?.name !== name) this.inflated = { name, bytes: this.inflate(entry) };
    return this.inflated.bytes.subarray(begin, end);
  }

  /** A deflated entry, inflated into at most its declared size (and the caller's bound), its CRC-32 checked. */
  private inflate(entry: ZipEntry): Buffer {
    const bound = this.limits.maxInflatedBytes;
    if (bound !== undefined && entry.size > bound) {
      throw new UsageError(
        `${this.path}: entry '${entry.name}' declares ${entry.size} bytes uncompressed, more than the ${bound} this file can hold for the model; not inflated`,
      );
    }
    const raw = this.readAt(this.dataOffset(entry), entry.compressedSize);
    let bytes: Buffer;
    try {
      // One byte more than declared, so that a stream inflating beyond its declared size is caught, not cut.
      bytes = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size + 1) });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ERR_BUFFER_TOO_LARGE' ? `inflates to more than its declared ${entry.size} bytes` : `does not inflate (${(error as Error).message})`;
      throw new UsageError(`${this.path}: entry '${entry.name}' ${why}`);
    }
    if (bytes.length > entry.size) throw new UsageError(`${this.path}: entry '${entry.name}' inflates to more than its declared ${entry.size} bytes`);
    if (bytes.length < entry.size)
      throw new UsageError(`${this.path}: entry '${entry.name}' inflates to ${bytes.length} bytes, not its declared ${entry.size}`);
    this.checkCrc(entry, crc32(bytes));
    return bytes;
  }

  /** Reads a stored entry once, in chunks, to check its CRC-32 before any of its bytes are used. */
  private verifyStored(entry: ZipEntry): void {
    const start = this.dataOffset(entry);
    let crc = 0;
    for (let at = 0; at < entry.size; at += CRC_CHUNK_BYTES) crc = crc32(this.readAt(start + at, Math.min(CRC_CHUNK_BYTES, entry.size - at)), crc);
    this.checkCrc(entry, crc);
  }

  private checkCrc(entry: ZipEntry, crc: number): void {
    if (crc !== entry.crc32) {
      throw new UsageError(
        `${this.path}: entry '${entry.name}' is damaged: its CRC-32 is ${hex(crc)}, the archive records ${hex(entry.crc32)} (the file was changed or corrupted after it was written)`,
      );
    }
    this.verified.add(entry.name);
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
      if (header.readUInt32LE(0) !== LOCAL_SIGNATURE) throw new UsageError(`${this.path}: entry '${entry.name}' has no local header`);
      offset = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
      const fileSize = fstatSync(this.fd!).size;
      if (offset + entry.compressedSize > fileSize) {
        throw new UsageError(
          `${this.path}: entry '${entry.name}' declares ${entry.compressedSize} bytes from byte ${offset}, but the file ends at byte ${fileSize}`,
        );
      }
      this.dataOffsets.set(entry.name, offset);
    }
    return offset;
  }

  private readAt(position: number, length: number): Buffer {
    if (this.fd == null) throw new Error(`${this.path}: archive is closed`);
    return readExactly(this.fd, position, length, this.path);
  }
}

const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

function readExactly(fd: number, position: number, length: number, path: string): Buffer {
  const bytes = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, bytes, done, length - done, position + done);
    if (n === 0) throw new UsageError(`${path}: file ends at byte ${position + done}, inside the zip structure (truncated)`);
    done += n;
  }
  return bytes;
}

/** True when the file begins like a zip archive (a local file header). */
function startsLikeZip(fd: number, fileSize: number): boolean {
  if (fileSize < 4) return false;
  const head = Buffer.alloc(4);
  readSync(fd, head, 0, 4, 0);
  return head.readUInt32LE(0) === LOCAL_SIGNATURE;
}

function readCentralDirectory(fd: number, path: string): Map<string, ZipEntry> {
  const fail = (why: string): never => {
    throw new UsageError(`${path}: not a zip archive (${why}); torch.save writes zip files since PyTorch 1.6`);
  };
  const truncated = (why: string): never => {
    throw new UsageError(`${path}: truncated: ${why}; the file is incomplete (an interrupted download or copy?)`);
  };
  const fileSize = fstatSync(fd).size;
  if (fileSize < 22) {
    if (startsLikeZip(fd, fileSize)) truncated(`it starts as a zip archive but ends after ${fileSize} bytes`);
    fail('shorter than an end-of-directory record');
  }
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
  if (eocd < 0) {
    if (startsLikeZip(fd, fileSize)) truncated('it starts as a zip archive but has no end-of-central-directory record, so its end is missing');
    fail('no end-of-central-directory record');
  }
  /** Where the record that follows the central directory starts: a Zip64 record, else the EOCD record. */
  let directoryEnd = tailStart + eocd;
  let count = tail.readUInt16LE(eocd + 10);
  let directorySize = tail.readUInt32LE(eocd + 12);
  let directoryOffset = tail.readUInt32LE(eocd + 16);
  // A Zip64 locator sits just before the EOCD record; its values replace the 16/32-bit ones.
  if (eocd >= 20 && tail.readUInt32LE(eocd - 20) === ZIP64_LOCATOR_SIGNATURE) {
    const recordOffset = readUInt64(tail, eocd - 20 + 8, path);
    const recordAt = tailStart + eocd - 20 - 56; // the Zip64 record sits just before its locator
    if (recordOffset > recordAt) truncated(`${recordOffset - recordAt} bytes are missing before its zip directory (cut at its start or in its middle)`);
    const record = readExactly(fd, recordOffset, 56, path);
    if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE) fail('bad Zip64 end-of-central-directory record');
    count = readUInt64(record, 32, path);
    directorySize = readUInt64(record, 40, path);
    directoryOffset = readUInt64(record, 48, path);
    directoryEnd = recordOffset;
  }
  // The central directory ends where the end records begin; if it is recorded further on, bytes are missing before it.
  if (directoryOffset + directorySize > directoryEnd) {
    truncated(`${directoryOffset + directorySize - directoryEnd} bytes are missing before its zip directory (cut at its start or in its middle)`);
  }
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
    const crc = directory.readUInt32LE(at + 16);
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
          size = readUInt64(extra, p, path);
          p += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = readUInt64(extra, p, path);
          p += 8;
        }
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = readUInt64(extra, p, path);
      }
      e += 4 + length;
    }
    if (method !== STORED && method !== DEFLATE) fail(`entry '${name}' uses compression method ${method}; only stored and deflate are read`);
    checkDeclaredSizes(path, { name, method, size, compressedSize, localHeaderOffset }, directoryOffset);
    entries.set(name, { name, method, compressedSize, size, crc32: crc, localHeaderOffset });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * An entry's declared sizes against the file: its data lies between its local header and the central directory, and
 * a stored entry's content is its stored bytes. Checked at open, so a declared 4 GB entry is refused unread.
 */
function checkDeclaredSizes(
  path: string,
  entry: Pick<ZipEntry, 'name' | 'method' | 'size' | 'compressedSize' | 'localHeaderOffset'>,
  directoryOffset: number,
): void {
  const refuse = (why: string): never => {
    throw new UsageError(`${path}: entry '${entry.name}' ${why}; the archive is damaged or was made to exhaust memory`);
  };
  if (entry.method === STORED && entry.size !== entry.compressedSize) {
    refuse(`is stored (not compressed) but declares ${entry.size} bytes of content in ${entry.compressedSize} stored bytes`);
  }
  if (entry.localHeaderOffset + 30 + entry.compressedSize > directoryOffset) {
    refuse(`declares ${entry.compressedSize} bytes from byte ${entry.localHeaderOffset}, beyond the ${directoryOffset} bytes of entries the file holds`);
  }
}

function readUInt64(bytes: Buffer, offset: number, path: string): number {
  const value = bytes.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError(`${path}: zip offset ${value} exceeds what a JavaScript number holds exactly`);
  return Number(value);
}

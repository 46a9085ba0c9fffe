/**
 * Random-access reading of foreign safetensors files (Hugging Face checkpoints): the header is read once at open,
 * then each tensor is read on request with one positioned read of its own bytes, so a 440 MB BERT-base file is never
 * held whole, and a loader can check names and shapes against the header before reading any weight.
 *
 * Format: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
 * `{dtype, shape, data_offsets: [begin, end]}` (offsets into the bytes after the header) plus an optional
 * `__metadata__` map of strings, then the tensor bytes, row-major, little-endian.
 *
 * Floating tensors (F32, F16, BF16, F64) convert to float32 on read and I32 tensors read as Int32Array; other dtypes
 * (the I64 `position_ids` buffer of BERT checkpoints, for instance) are listed with their shapes but not converted.
 * shnet's own checkpoints (F32 and I32 only, written by `./safetensors-writer`) are read whole by {@link readSafetensors}.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UsageError } from '../errors';
import type { HostTensor } from './safetensors-writer';
import { halfToFloat } from './float16';

/** One tensor of the header; `begin`/`end` are absolute byte offsets in the file. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

const METADATA_KEY = '__metadata__';
/** The reference implementation refuses headers above 100 MB; so do we, before allocating. */
const MAX_HEADER_BYTES = 100_000_000;

/** Bytes per element of every dtype the format defines. */
const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  U16: 2,
  I16: 2,
  F16: 2,
  BF16: 2,
  U32: 4,
  I32: 4,
  F32: 4,
  U64: 8,
  I64: 8,
  F64: 8,
};

/** Dtypes {@link SafetensorsFile.readFloat32} converts. */
export const FLOAT_DTYPES: readonly string[] = ['F32', 'F16', 'BF16', 'F64'];

/** The content of a safetensors file, read whole. */
export interface SafetensorsContent {
  readonly tensors: Map<string, HostTensor>;
  readonly metadata: Record<string, string>;
}

/** An open safetensors file. Call {@link close} when done (or use {@link withSafetensors}). */
export class SafetensorsFile {
  /** Tensors in header order. */
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  readonly metadata: Readonly<Record<string, string>>;
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    entries: Map<string, SafetensorsEntry>,
    metadata: Record<string, string>,
  ) {
    this.fd = fd;
    this.entries = entries;
    this.metadata = metadata;
  }

  /** Opens `path` and parses its header; throws a {@link UsageError} naming the file when it is not a valid safetensors file. */
  static open(path: string): SafetensorsFile {
    const fd = openSync(path, 'r');
    try {
      const { entries, metadata } = readHeader(fd, path);
      return new SafetensorsFile(path, fd, entries, metadata);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /**
   * Reads one tensor as float32 (row-major, the file's shape).
   * @throws naming the file and the tensor when it is absent or not a floating dtype
   */
  readFloat32(name: string): Float32Array {
    const entry = this.entry(name, FLOAT_DTYPES, 'float32');
    return toFloat32(this.readBytes(entry), entry.dtype);
  }

  /**
   * Reads one I32 tensor (row-major, the file's shape).
   * @throws naming the file and the tensor when it is absent or not I32
   */
  readInt32(name: string): Int32Array {
    const bytes = this.readBytes(this.entry(name, ['I32'], 'int32'));
    if (HOST_IS_LITTLE_ENDIAN) return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    const out = new Int32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = bytes.readInt32LE(4 * i);
    return out;
  }

  close(): void {
    if (this.fd != null) closeSync(this.fd);
    this.fd = null;
  }

  private entry(name: string, dtypes: readonly string[], as: string): SafetensorsEntry {
    const entry = this.entries.get(name);
    if (entry == null) throw new Error(`${this.path}: no tensor '${name}'`);
    if (!dtypes.includes(entry.dtype)) throw new Error(`${this.path}: tensor '${name}' is ${entry.dtype}; only ${dtypes.join('/')} read as ${as}`);
    return entry;
  }

  /** The tensor's bytes, in a fresh buffer of their own (offset 0, so typed views over it are aligned). */
  private readBytes(entry: SafetensorsEntry): Buffer {
    if (this.fd == null) throw new Error(`${this.path}: file is closed`);
    const bytes = Buffer.alloc(entry.end - entry.begin);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(this.fd, bytes, done, bytes.length - done, entry.begin + done);
      // The header was checked against the file size, so only a file shrinking under us ends early.
      if (n === 0) throw new UsageError(`${this.path}: file ends inside tensor '${entry.name}'`);
      done += n;
    }
    return bytes;
  }
}

/** Opens `path`, runs `use`, and closes the file whatever happens. */
export function withSafetensors<T>(path: string, use: (file: SafetensorsFile) => T): T {
  const file = SafetensorsFile.open(path);
  try {
    return use(file);
  } finally {
    file.close();
  }
}

/**
 * Reads every tensor of a safetensors file shnet wrote (F32 as Float32Array, I32 as Int32Array) and its metadata.
 * @throws UsageError naming the file when it is malformed or holds another dtype
 */
export function readSafetensors(path: string): SafetensorsContent {
  return withSafetensors(path, (file) => {
    const tensors = new Map<string, HostTensor>();
    for (const { name, dtype, shape } of file.entries.values()) {
      if (dtype === 'F32') tensors.set(name, { dtype, shape, data: file.readFloat32(name) });
      else if (dtype === 'I32') tensors.set(name, { dtype, shape, data: file.readInt32(name) });
      else throw new UsageError(`${path}: tensor '${name}' has dtype ${dtype}; shnet checkpoints hold F32 and I32`);
    }
    return { tensors, metadata: { ...file.metadata } };
  });
}

function readHeader(fd: number, path: string): { entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new UsageError(`${path}: not a valid safetensors file (${why})`);
  };
  const fileBytes = fstatSync(fd).size;
  const prefix = Buffer.alloc(8);
  if (fileBytes < 8 || readSync(fd, prefix, 0, 8, 0) < 8) fail('shorter than the 8-byte header length');
  const headerBytes = Number(prefix.readBigUInt64LE(0));
  if (headerBytes > MAX_HEADER_BYTES || 8 + headerBytes > fileBytes) fail(`header length ${headerBytes} exceeds the file`);
  const json = Buffer.alloc(headerBytes);
  readSync(fd, json, 0, headerBytes, 8);
  let header: Record<string, unknown> = {};
  try {
    header = JSON.parse(json.toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    fail(`header is not JSON: ${(error as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + headerBytes;
  const entries = new Map<string, SafetensorsEntry>();
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (value ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const size = typeof dtype === 'string' ? ELEMENT_BYTES[dtype] : undefined;
    if (size == null) fail(`tensor '${name}' has unknown dtype ${String(dtype)}`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`tensor '${name}' has a bad shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`tensor '${name}' has bad data_offsets`);
    const [begin, end] = offsets as number[];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    if (!(Number.isInteger(begin) && begin >= 0 && end - begin === elements * size! && dataStart + end <= fileBytes)) {
      fail(`tensor '${name}' offsets [${begin}, ${end}] do not match its shape or the file size`);
    }
    entries.set(name, { name, dtype: dtype as string, shape: shape as number[], begin: dataStart + begin, end: dataStart + end });
  }
  return { entries, metadata };
}

/** Little-endian F32/F16/BF16/F64 bytes → float32. */
function toFloat32(bytes: Buffer, dtype: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      if (HOST_IS_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
      const out = new Float32Array(bytes.length / 4);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(bytes.length / 8);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shift its bits up.
      const bits = new Uint32Array(bytes.length / 2);
      for (let i = 0; i < bits.length; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    }
    default: {
      const out = new Float32Array(bytes.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
  }
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

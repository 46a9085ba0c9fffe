/**
 * The safetensors file format (Hugging Face): an 8-byte little-endian header length, a JSON header, then the raw
 * tensor bytes. The header maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}` (offsets into the
 * byte buffer after the header) and may hold `__metadata__`, a map of strings. Readable by `safetensors` and, with
 * a few lines, by numpy; shnet's checkpoints use it so any tool can open them.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic, type AtomicWriteHooks } from './atomic-write';

/** Element types shnet writes (float weights and slots; integer tensors such as step counts). */
export type SafetensorsDtype = 'F32' | 'I32';

/** A host tensor: row-major data and its shape. */
export interface HostTensor {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

/** The content of a safetensors file. */
export interface SafetensorsContent {
  readonly tensors: Map<string, HostTensor>;
  readonly metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
/** The reference implementation rejects headers above 100 MB; so do we, before allocating. */
const MAX_HEADER_BYTES = 100_000_000;

/** Serialises tensors (in the map's order) and metadata into the bytes of one safetensors file. */
export function encodeSafetensors(tensors: ReadonlyMap<string, HostTensor>, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === METADATA_KEY) throw new Error(`safetensors: '${METADATA_KEY}' cannot name a tensor`);
    const elements = t.shape.reduce((a, b) => a * b, 1);
    if (elements !== t.data.length) throw new Error(`safetensors: tensor '${name}' has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    checkDtype(name, t);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  if (padded > json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const chunks: Uint8Array[] = [prefix, json];
  for (const t of tensors.values()) chunks.push(littleEndianBytes(t.data));
  return chunks;
}

/** Parses the bytes of a safetensors file; the returned arrays are copies (aligned, independent of `bytes`). */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsContent {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a valid safetensors file (${why})`);
  };
  if (bytes.byteLength < 8) fail('shorter than the 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = Number(view.getBigUint64(0, true));
  if (headerBytes > MAX_HEADER_BYTES || 8 + headerBytes > bytes.byteLength) fail(`header length ${headerBytes} exceeds the file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerBytes).toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    return fail(`header is not JSON: ${(error as Error).message}`);
  }
  const dataStart = 8 + headerBytes;
  const dataBytes = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, HostTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: unknown; shape: unknown; data_offsets: unknown };
    if (dtype !== 'F32' && dtype !== 'I32') fail(`tensor '${name}' has dtype ${String(dtype)}; shnet reads F32 and I32`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`tensor '${name}' has a bad shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`tensor '${name}' has bad data_offsets`);
    const [begin, end] = offsets as number[];
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    if (!(begin >= 0 && end <= dataBytes && end - begin === elements * 4)) fail(`tensor '${name}' offsets [${begin}, ${end}] do not match its shape`);
    const raw = new Uint8Array(elements * 4);
    raw.set(bytes.subarray(dataStart + begin, dataStart + end));
    const data = dtype === 'F32' ? new Float32Array(raw.buffer) : new Int32Array(raw.buffer);
    if (!HOST_IS_LITTLE_ENDIAN) swapBytes4(raw);
    tensors.set(name, { dtype: dtype as SafetensorsDtype, shape: shape as number[], data });
  }
  return { tensors, metadata };
}

/** Writes a safetensors file atomically (see {@link writeFileAtomic}). */
export function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, HostTensor>,
  metadata: Record<string, string> = {},
  hooks: AtomicWriteHooks = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata), hooks);
}

export function readSafetensors(path: string): SafetensorsContent {
  return decodeSafetensors(readFileSync(path), path);
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function checkDtype(name: string, t: HostTensor): void {
  const ok = t.dtype === 'F32' ? t.data instanceof Float32Array : t.data instanceof Int32Array;
  if (!ok) throw new Error(`safetensors: tensor '${name}' is declared ${t.dtype} but holds a ${t.data.constructor.name}`);
}

function littleEndianBytes(data: Float32Array | Int32Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_IS_LITTLE_ENDIAN) return bytes;
  const copy = bytes.slice();
  swapBytes4(copy);
  return copy;
}

function swapBytes4(bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += 4) {
    [bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]] = [bytes[i + 3], bytes[i + 2], bytes[i + 1], bytes[i]];
  }
}

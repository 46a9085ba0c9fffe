/**
 * Writing safetensors files (Hugging Face's format, described in `./safetensors`): shnet's checkpoints use it so any
 * tool can open them. Reading, of these files and of foreign ones, is `./safetensors`.
 */
import { writeFileAtomic, type AtomicWriteHooks } from '../atomic-write';

/** Element types shnet writes (float weights and slots; integer tensors such as step counts). */
export type SafetensorsDtype = 'F32' | 'I32';

/** A host tensor: row-major data and its shape. */
export interface HostTensor {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

const METADATA_KEY = '__metadata__';

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

/** Writes a safetensors file atomically (see {@link writeFileAtomic}). */
export function writeSafetensors(
  path: string,
  tensors: ReadonlyMap<string, HostTensor>,
  metadata: Record<string, string> = {},
  hooks: AtomicWriteHooks = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata), hooks);
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
  for (let i = 0; i < copy.length; i += 4) [copy[i], copy[i + 1], copy[i + 2], copy[i + 3]] = [copy[i + 3], copy[i + 2], copy[i + 1], copy[i]];
  return copy;
}

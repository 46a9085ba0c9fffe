/**
 * Tensors read from a PyTorch checkpoint, and their materialisation from a storage: PyTorch views a flat storage
 * through (offset, sizes, strides), so a transposed weight or a slice of a shared storage is gathered here into a
 * fresh row-major array.
 */
import { halfToFloat } from '../float16';

/** Element types of torch storages shnet reads. */
export type TorchDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** Bytes per element. */
export const TORCH_ELEMENT_BYTES: Readonly<Record<TorchDtype, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** Floating dtypes: read as float32. */
export const FLOAT_TORCH_DTYPES: readonly TorchDtype[] = ['float32', 'float64', 'float16', 'bfloat16'];

/**
 * A tensor of a checkpoint, row-major in its own shape (PyTorch's logical layout, whatever the strides were).
 * Floating tensors hold float32 values (float16/bfloat16/float64 converted); integer and bool tensors hold numbers
 * (`num_batches_tracked` is `{dtype: 'int64', shape: [], data: [n]}`).
 */
export class TorchTensor {
  constructor(
    /** The dtype in the file. */
    readonly dtype: TorchDtype,
    readonly shape: readonly number[],
    readonly data: Float32Array | number[],
  ) {}

  get isFloat(): boolean {
    return this.data instanceof Float32Array;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/**
 * Gathers a strided view of a storage.
 * @param read returns storage bytes `[begin, end)` (byte offsets into the storage)
 * @param offset storage offset in elements
 * @returns the view, row-major in `shape`
 */
export function materialise(
  dtype: TorchDtype,
  read: (begin: number, end: number) => Uint8Array,
  offset: number,
  shape: readonly number[],
  stride: readonly number[],
): TorchTensor {
  if (shape.length !== stride.length) throw new Error(`tensor sizes [${shape.join(', ')}] and strides [${stride.join(', ')}] differ in rank`);
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || stride.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new Error(`tensor sizes [${shape.join(', ')}] or strides [${stride.join(', ')}] are not non-negative integers`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const convert = converter(dtype);
  if (count === 0) return new TorchTensor(dtype, shape, convert(new Uint8Array(0), 0));
  // Only the span the view touches is read: from its first element to its last.
  const span = 1 + shape.reduce((sum, d, i) => sum + (d - 1) * stride[i], 0);
  const size = TORCH_ELEMENT_BYTES[dtype];
  const bytes = read(offset * size, (offset + span) * size);
  const all = convert(bytes, span);
  if (isContiguous(shape, stride) && span === count) return new TorchTensor(dtype, shape, all);
  const out = all instanceof Float32Array ? new Float32Array(count) : new Array<number>(count);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let source = 0;
  for (let i = 0; i < count; i++) {
    out[i] = all[source];
    // Odometer over the output's row-major order, moving the source by the strides.
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]++;
      source += stride[axis];
      if (index[axis] < shape[axis]) break;
      source -= stride[axis] * shape[axis];
      index[axis] = 0;
    }
  }
  return new TorchTensor(dtype, shape, out);
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    if (shape[axis] !== 1 && stride[axis] !== expected) return false;
    expected *= shape[axis];
  }
  return true;
}

/** Little-endian storage bytes → values. */
function converter(dtype: TorchDtype): (bytes: Uint8Array, count: number) => Float32Array | number[] {
  const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const floats = (get: (v: DataView, i: number) => number) => (bytes: Uint8Array, count: number) => {
    const v = view(bytes);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = get(v, i);
    return out;
  };
  const ints = (get: (v: DataView, i: number) => number) => (bytes: Uint8Array, count: number) => {
    const v = view(bytes);
    return Array.from({ length: count }, (_, i) => get(v, i));
  };
  switch (dtype) {
    case 'float32':
      return floats((v, i) => v.getFloat32(4 * i, true));
    case 'float64':
      return floats((v, i) => v.getFloat64(8 * i, true));
    case 'float16':
      return floats((v, i) => halfToFloat(v.getUint16(2 * i, true)));
    case 'bfloat16':
      // bfloat16 is the top half of a float32.
      return floats((v, i) => {
        scratch.setUint32(0, v.getUint16(2 * i, true) << 16);
        return scratch.getFloat32(0);
      });
    case 'int64':
      return ints((v, i) => {
        const n = v.getBigInt64(8 * i, true);
        if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error(`int64 value ${n} exceeds 2^53`);
        return Number(n);
      });
    case 'int32':
      return ints((v, i) => v.getInt32(4 * i, true));
    case 'int16':
      return ints((v, i) => v.getInt16(2 * i, true));
    case 'int8':
      return ints((v, i) => v.getInt8(i));
    case 'uint8':
    case 'bool':
      return ints((v, i) => v.getUint8(i));
  }
}

const scratch = new DataView(new ArrayBuffer(4));

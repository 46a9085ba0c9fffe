/**
 * `Transpose` for wasm when it swaps the last two axes of large matrices (every transposed matMul operand and
 * gradient, BatchNorm's channel-major view). The stock C++ kernel takes ~10 ns an element on shapes such as
 * [8, 4096, 128] (40 ms, a quarter of VSpM's attention product); copying eight source rows per pass over the
 * destination, as below, takes ~2 ns (8 ms). Small matrices and every other permutation keep the stock kernel,
 * which is as fast there.
 */
import { type tf } from '../tf';
import { replaceWasmKernel, type WasmKernelArgs } from './wasm-backend';

/** Elements per matrix from which the copy below beats the stock kernel (measured: equal near 128 × 1024). */
export const FAST_TRANSPOSE_MIN_ELEMENTS = 1 << 16;

/** Source columns handled per pass, so the eight destination runs being written stay in cache. */
const COLUMN_TILE = 128;

/**
 * dst[b, j, i] = src[b, i, j] for `batch` row-major [rows, cols] matrices. Eight source rows are read per pass and
 * written as eight adjacent destination elements, which keeps both streams mostly sequential.
 */
export function transposeLastTwo(
  src: Float32Array | Int32Array | Uint8Array,
  dst: Float32Array | Int32Array | Uint8Array,
  batch: number,
  rows: number,
  cols: number,
): void {
  const size = rows * cols;
  for (let b = 0; b < batch; b++) {
    const offset = b * size;
    for (let j0 = 0; j0 < cols; j0 += COLUMN_TILE) {
      const j1 = Math.min(cols, j0 + COLUMN_TILE);
      let i = 0;
      for (; i + 8 <= rows; i += 8) {
        const rowStart = offset + i * cols;
        for (let j = j0; j < j1; j++) {
          const d = offset + j * rows + i;
          const s = rowStart + j;
          dst[d] = src[s];
          dst[d + 1] = src[s + cols];
          dst[d + 2] = src[s + 2 * cols];
          dst[d + 3] = src[s + 3 * cols];
          dst[d + 4] = src[s + 4 * cols];
          dst[d + 5] = src[s + 5 * cols];
          dst[d + 6] = src[s + 6 * cols];
          dst[d + 7] = src[s + 7 * cols];
        }
      }
      for (; i < rows; i++) {
        const rowStart = offset + i * cols;
        for (let j = j0; j < j1; j++) dst[offset + j * rows + i] = src[rowStart + j];
      }
    }
  }
}

/** True when `perm` keeps every axis but the last two, which it swaps. */
function swapsLastTwo(perm: readonly number[]): boolean {
  const rank = perm.length;
  if (rank < 2 || perm[rank - 2] !== rank - 1 || perm[rank - 1] !== rank - 2) return false;
  return perm.slice(0, -2).every((p, i) => p === i);
}

function transpose(stock: tf.KernelFunc) {
  return (args: WasmKernelArgs): tf.TensorInfo => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as tf.TensorInfo;
    const perm = attrs.perm as number[];
    const [rows, cols] = x.shape.slice(-2);
    if (!swapsLastTwo(perm) || rows * cols < FAST_TRANSPOSE_MIN_ELEMENTS || x.dtype === 'string' || x.dtype === 'complex64') {
      return stock(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    }
    const out = backend.makeOutput(
      perm.map((p) => x.shape[p]),
      x.dtype,
    );
    // Views after the allocation: growing the heap detaches older ones.
    const batch = x.shape.slice(0, -2).reduce((n, d) => n * d, 1);
    transposeLastTwo(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(out), batch, rows, cols);
    return out;
  };
}

/** Replaces the wasm `Transpose` kernel (a second call changes nothing). */
export function replaceTransposeKernel(): void {
  replaceWasmKernel('Transpose', transpose);
}

/**
 * Re-routes wasm `BatchMatMul` and `_FusedMatMul` onto XNNPACK. The wasm C++ kernel hands a product to XNNPACK
 * (~25–30 GFLOP/s here) only when neither operand is transposed and the batch is 1; every other product runs a
 * scalar triple loop (0.7–2 GFLOP/s). Every matMul gradient asks for a transposed operand, and dense layers applied
 * to [B, T, D] activations are batched products with a shared weight, so training lands on the slow loop unless:
 *  - a product with few rows against a wide operand is computed transposed (Cᵀ = Bᵀ·Aᵀ), because XNNPACK packs
 *    its second operand afresh for every call and packing a wide one costs more than the product;
 *  - transposed operands are transposed explicitly first (a memory-bound copy, cheap next to the product);
 *  - a batched `a` against an unbatched `b` is folded into one [B·M, K] × [K, N] product;
 *  - equal batches of large matrices are split into one XNNPACK product per batch item.
 * Small batched products (attention over a few dozen regions) stay on the C++ loop: each XNNPACK call costs more
 * than their whole product.
 *
 * `_FusedMatMul` also gets a correctness fix: the stock kernel adds the bias wrongly when the batch is > 1
 * (off by up to the bias values), so a batched fused product with a bias or PReLU weights is always split into
 * batch-1 products, which are right. Bias and per-column PReLU weights ([N]) apply to every output row alike, so
 * folding and splitting preserve them; PReLU weights of any other shape keep the product on the stock kernel.
 */
import { tf } from '../tf';
import { type BackendWasm, release, replaceWasmKernel, reshapeInfo, runWasmKernel, type WasmKernelArgs } from './wasm-backend';

/**
 * Multiply-adds per batch item above which one XNNPACK call per item beats the C++ loop (measured here, with
 * slices that copy only the item: 64 × 6·32·4096 runs 4× faster split, 2 × 20·32·96 (a GRU step) 2× slower).
 */
export const SPLIT_MIN_MULTIPLY_ADDS = 1 << 18;

const product = (dims: number[]) => dims.reduce((size, d) => size * d, 1);

/** The shape of an untransposed product a [...A, M, K] × b [...B, K, N]: batch sizes, matrix sizes, output shape. */
interface ProductShape {
  m: number;
  k: number;
  n: number;
  batchA: number;
  batchB: number;
  /** Batch size of the output (the broadcast of both batch shapes). */
  batch: number;
  outShape: number[];
}

function productShape(a: tf.TensorInfo, b: tf.TensorInfo): ProductShape {
  const outerShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const batchA = product(a.shape.slice(0, -2));
  const batchB = product(b.shape.slice(0, -2));
  return { m, k, n, batchA, batchB, batch: product(outerShape), outShape: [...outerShape, m, n] };
}

/** Swaps the last two axes. */
function transposeLast(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo {
  const perm = x.shape.map((_, i) => i);
  perm.splice(-2, 2, perm.length - 1, perm.length - 2);
  return runWasmKernel('Transpose', backend, { x }, { perm });
}

/**
 * True when output item i is a[i or 0] × b[i or 0]: each operand has the output's batch or a batch of 1.
 * (Batch shapes [3, 1] and [1, 3] broadcast to 9 items and do not qualify.)
 */
function splittable({ batch, batchA, batchB }: ProductShape): boolean {
  return batch > 1 && (batchA === batch || batchA === 1) && (batchB === batch || batchB === 1);
}

/** One product per batch item: a [A, M, K] × b [B, K, N] → [batch, M, N], copied straight into the output heap. */
function splitByBatch(
  multiply: (a: tf.TensorInfo, b: tf.TensorInfo) => tf.TensorInfo,
  backend: BackendWasm,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  shape: ProductShape,
): tf.TensorInfo {
  const { m, k, n, batchA, batchB, batch } = shape;
  const a3 = reshapeInfo(backend, a, [batchA, m, k]);
  const b3 = reshapeInfo(backend, b, [batchB, k, n]);
  const out = backend.makeOutput([batch, m, n], a.dtype);
  for (let i = 0; i < batch; i++) {
    const ai = runWasmKernel('Slice', backend, { x: a3 }, { begin: [batchA === 1 ? 0 : i, 0, 0], size: [1, m, k] });
    const bi = runWasmKernel('Slice', backend, { x: b3 }, { begin: [batchB === 1 ? 0 : i, 0, 0], size: [1, k, n] });
    const item = multiply(ai, bi);
    // Views are taken after every allocation: growing the heap detaches older views.
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(item), i * m * n);
    release(backend, ai, bi, item);
  }
  release(backend, a3, b3);
  return { ...out, shape: shape.outShape };
}

/**
 * Element copies XNNPACK spends packing one weight element (`b`) before a product, relative to a plain transpose
 * copy (measured: a fresh [32, 4096] weight costs ~5× what a fresh [32, 6] one does in a product of the same size).
 */
const PACKING_COST = 4;

/**
 * True when C = op(a)·op(b) is cheaper as Cᵀ = op(b)ᵀ·op(a)ᵀ. XNNPACK packs its `b` operand afresh for every product
 * (the weights of a layer are new tensors after each optimizer step, activations always are), so a product with few
 * rows and a wide `b` (region queries against 4096 pixel keys) spends most of its time packing. Swapping the roles
 * packs the small operand instead, at the price of the transposes the swap needs (an operand already stored
 * transposed needs none) and one transpose of the result. Costs count element copies per batch item.
 */
function swapIsCheaper(m: number, k: number, n: number, transposeA: boolean, transposeB: boolean): boolean {
  const asIs = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + PACKING_COST * k * n;
  const swapped = (transposeA ? 0 : m * k) + (transposeB ? 0 : k * n) + m * n + PACKING_COST * k * m;
  return swapped < asIs;
}

/**
 * Wraps a stock kernel: the operands are oriented so that XNNPACK packs the smaller one, made untransposed, and the
 * product is folded, split or passed through.
 * `a` and `b` of `_FusedMatMul` are rank 3; those of `BatchMatMul` have any rank ≥ 2 with broadcast batch dims.
 */
function routeThroughXnnpack(stock: tf.KernelFunc) {
  const route = ({ inputs, backend, attrs }: WasmKernelArgs, mayReorient: boolean): tf.TensorInfo => {
    const temporaries: tf.TensorInfo[] = [];
    let { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { bias, preluActivationWeights: prelu } = inputs;
    const [transposeA, transposeB] = [Boolean(attrs.transposeA), Boolean(attrs.transposeB)];
    if (mayReorient && bias == null && prelu == null) {
      // Bias and PReLU weights are per output column, so only products without them may be computed transposed.
      const [m, k] = transposeA ? a.shape.slice(-2).reverse() : a.shape.slice(-2);
      const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
      const onXnnpack =
        product(a.shape.slice(0, -2)) === product(b.shape.slice(0, -2)) && (product(a.shape.slice(0, -2)) === 1 || m * k * n >= SPLIT_MIN_MULTIPLY_ADDS);
      if (onXnnpack && swapIsCheaper(m, k, n, transposeA, transposeB)) {
        const swappedAttrs = { ...attrs, transposeA: !transposeB, transposeB: !transposeA };
        const transposed = route({ inputs: { ...inputs, a: b, b: a }, backend, attrs: swappedAttrs }, false);
        const out = transposeLast(backend, transposed);
        release(backend, transposed);
        return out;
      }
    }
    if (transposeA) temporaries.push((a = transposeLast(backend, a)));
    if (transposeB) temporaries.push((b = transposeLast(backend, b)));
    const plainAttrs = { ...attrs, transposeA: false, transposeB: false };
    const multiply = (x: tf.TensorInfo, y: tf.TensorInfo) => stock({ inputs: { ...inputs, a: x, b: y }, backend, attrs: plainAttrs }) as tf.TensorInfo;
    const perColumn = prelu == null || prelu.shape.length <= 1;
    try {
      const shape = productShape(a, b);
      const { m, k, n, batchA, batchB } = shape;
      if (batchA > 1 && batchB === 1 && perColumn) {
        const rows = reshapeInfo(backend, a, [1, batchA * m, k]);
        const weight = reshapeInfo(backend, b, [1, k, n]);
        temporaries.push(rows, weight);
        return { ...multiply(rows, weight), shape: shape.outShape };
      }
      const large = batchA === batchB && m * k * n >= SPLIT_MIN_MULTIPLY_ADDS;
      const stockIsWrong = bias != null || prelu != null;
      if (splittable(shape) && perColumn && (large || stockIsWrong)) {
        return splitByBatch(multiply, backend, a, b, shape);
      }
      return multiply(a, b);
    } finally {
      release(backend, ...temporaries);
    }
  };
  return (args: WasmKernelArgs): tf.TensorInfo => route(args, true);
}

/** Replaces both matmul kernels of the wasm backend (a second call changes nothing). */
export function rerouteMatMulKernels(): void {
  replaceWasmKernel('BatchMatMul', routeThroughXnnpack);
  replaceWasmKernel('_FusedMatMul', routeThroughXnnpack);
}

/**
 * `UnsortedSegmentSum` for wasm. The wasm backend has no such kernel, and it is the gradient of `gather`: without it
 * no embedding table trains, and the differentiable sort (whose backward pass scatters through the sort permutation)
 * has no backward pass. A plain loop over the wasm heap: the work is one pass over `x`.
 */
import { tf } from '../tf';
import { addWasmKernel, type WasmKernelArgs } from './wasm-backend';

/**
 * out[s, ...] = Σ x[i, ...] over every i with segmentIds[i] = s. Ids outside [0, numSegments) are dropped, as on the
 * cpu backend. `segmentIds` covers the leading dimensions of `x`:
 * x [...S, ...E], segmentIds [...S] → out [numSegments, ...E].
 */
function unsortedSegmentSum({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = attrs.numSegments as number;
  const innerShape = x.shape.slice(segmentIds.shape.length);
  const inner = innerShape.reduce((size, d) => size * d, 1);
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  // Heap views are taken after makeOutput: an allocation may grow the heap and detach earlier views.
  const sums = backend.typedArrayFromHeap(out);
  const values = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  sums.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i];
    if (segment < 0 || segment >= numSegments) continue;
    const from = i * inner;
    const to = segment * inner;
    for (let j = 0; j < inner; j++) sums[to + j] += values[from + j];
  }
  return out;
}

/** Adds the kernel unless wasm already has one (a later tfjs release may ship it). */
export function registerUnsortedSegmentSum(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') == null) addWasmKernel('UnsortedSegmentSum', unsortedSegmentSum);
}

/**
 * A descending sort whose gradient flows back through the sort permutation, for GPO-style pooling (3SHNet's
 * aggregator sorts each feature dimension over the set of regions or tokens before weighting the ranks).
 * tfjs's `topk` has no gradient, and `gather` with batchDims > 0 has broken gradients on cpu and wasm, so the
 * sort is a custom gradient: forward is `topk` over the whole last axis, backward scatters dy to the positions
 * the values came from (`unsortedSegmentSum` over flattened indices).
 */
import { tf } from './tf';

/**
 * Flat positions of the sorted values in `x`: indices [..., R] from topk → row·R + index, shape [rows·R].
 * Computed in float32 when every position is below 2²⁴ (so exact; larger inputs take the int32 path) because wasm has no
 * fast int32 broadcast add: it takes a scalar path ~30× slower than float32, which made this add a tenth of a GPO
 * training step.
 */
function flatPositions(indices: tf.Tensor, rows: number, r: number): tf.Tensor1D {
  if (rows * r > 2 ** 24) {
    const rowStarts = tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(r, 'int32')).reshape([rows, 1]);
    return tf.add(indices.reshape([rows, r]), rowStarts).reshape([-1]);
  }
  const rowStarts = tf.range(0, rows * r, r, 'float32').reshape([rows, 1]);
  return tf
    .add(indices.reshape([rows, r]).cast('float32'), rowStarts)
    .reshape([-1])
    .cast('int32') as tf.Tensor1D;
}

/** The sort, optionally handing its indices out (kept past any tidy: the caller disposes them). */
function sortWithGradient(x: tf.Tensor, onIndices?: (indices: tf.Tensor) => void): tf.Tensor {
  const sort = tf.customGrad((input, save) => {
    const t = input as tf.Tensor;
    const r = t.shape[t.rank - 1];
    const { values, indices } = tf.topk(t, r, true);
    (save as tf.GradSaveFunc)([flatPositions(indices, t.size / Math.max(r, 1), r)]);
    onIndices?.(tf.keep(indices));
    return {
      value: values,
      // A permutation scatter: each input position receives the gradient of the one output it moved to.
      gradFunc: (dy, [positions]) => tf.unsortedSegmentSum((dy as tf.Tensor).reshape([-1]), positions as tf.Tensor1D, t.size).reshape(t.shape),
    };
  });
  return sort(x);
}

/**
 * Sorts `x` [..., R] in descending order along its last axis; values [..., R]. Differentiable: the gradient of an
 * output element goes to the input element it came from. Ties keep tfjs `topk`'s order (lower index first).
 */
export function sortDescending<T extends tf.Tensor>(x: T): T {
  if (x.rank === 0) throw new Error('sortDescending needs a tensor of rank ≥ 1, got a scalar');
  return sortWithGradient(x) as T;
}

/**
 * {@link sortDescending} that also returns the permutation: indices [..., R] (int32) such that
 * values[..., j] = x[..., indices[..., j]]. Only `values` is differentiable. The caller owns `indices` and must
 * dispose it even inside `tf.tidy` (it is created inside the gradient scope, so it is kept).
 */
export function sortDescendingWithIndices<T extends tf.Tensor>(x: T): { values: T; indices: T } {
  if (x.rank === 0) throw new Error('sortDescendingWithIndices needs a tensor of rank ≥ 1, got a scalar');
  let indices: tf.Tensor | undefined;
  const values = sortWithGradient(x, (kept) => (indices = kept));
  return { values: values as T, indices: indices as T };
}

import * as tf from '../backend/tf';
import type { ForwardMode } from '../contracts/module';
import { dropout } from './dropout';

/**
 * Multi-head attention as transformer encoders compute it (BERT's `BertSelfAttention`), as functions over
 * already-projected tensors so that the blocks keep their own parameter names.
 */

/**
 * `[B, T, heads·d]` → `[B, heads, T, d]`.
 */
export function splitHeads(x: tf.Tensor3D, heads: number): tf.Tensor4D {
  const [b, t, width] = x.shape;
  if (width % heads !== 0) throw new RangeError(`width ${width} is not a multiple of ${heads} heads`);
  return tf.tidy(() => x.reshape([b, t, heads, width / heads]).transpose([0, 2, 1, 3]) as tf.Tensor4D);
}

/**
 * `[B, heads, T, d]` → `[B, T, heads·d]` (inverse of {@link splitHeads}).
 */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [b, heads, t, d] = x.shape;
  return tf.tidy(() => x.transpose([0, 2, 1, 3]).reshape([b, t, heads * d]) as tf.Tensor3D);
}

/**
 * softmax(q·kᵀ/√d + keyBias)·v, with dropout on the attention probabilities in training (BERT's
 * `attention_probs_dropout_prob`, masks drawn from `mode.rng`).
 *
 * @param q `[B, heads, Tq, d]`
 * @param k `[B, heads, Tk, d]`
 * @param v `[B, heads, Tk, d]`
 * @param keyBias additive bias broadcast over the scores, `[B, 1, 1, Tk]` (0 for visible keys, a large negative
 *   number for padded ones), or null when every key is visible
 * @returns `[B, heads, Tq, d]`
 */
export function scaledDotProductAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  keyBias: tf.Tensor4D | null,
  dropoutProbability: number,
  mode: ForwardMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const scores = tf.matMul(q, k, false, true).mul(1 / Math.sqrt(q.shape[3]));
    const probs = tf.softmax(keyBias ? scores.add(keyBias) : scores);
    return tf.matMul(dropout(probs, dropoutProbability, mode), v) as tf.Tensor4D;
  });
}

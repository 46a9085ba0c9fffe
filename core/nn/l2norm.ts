import * as tf from '../backend/tf';

/**
 * The reference's `l2norm`: x / (‖x‖₂ + eps) over the last axis (eps added to the norm, not under the root).
 * @param x `[..., D]`
 * @returns `[..., D]`
 */
export function l2Normalize<T extends tf.Tensor>(x: T, eps = 1e-8): T {
  return tf.tidy(() => x.div(tf.sqrt(tf.sum(tf.square(x), -1, true)).add(eps)) as T);
}

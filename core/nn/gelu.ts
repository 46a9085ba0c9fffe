import * as tf from '../backend/tf';

/**
 * GELU in its exact form, x·Φ(x) = ½·x·(1 + erf(x/√2)) — BERT's `hidden_act: "gelu"` (PyTorch's `F.gelu` default),
 * not the tanh approximation (`gelu_new`), which differs by up to ~1e-3.
 *
 * @param x any shape
 * @returns same shape as `x`
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => x.mul(tf.erf(x.mul(Math.SQRT1_2)).add(1)).mul(0.5) as T);
}

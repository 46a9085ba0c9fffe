import * as tf from '../backend/tf';

/**
 * `torch.nn.utils.clip_grad_norm_(params, maxNorm)`: scales every gradient by maxNorm / (total + 1e-6) when the
 * global L2 norm `total` over all of them exceeds maxNorm.
 *
 * @returns the clipped gradients (new tensors; the caller disposes the inputs) and the norm before clipping
 */
export function clipByGlobalNorm(grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: number } {
  const norm = tf.tidy(() => {
    const squares = [...grads.values()].map((g) => tf.sum(tf.square(g)));
    return squares.length === 0 ? 0 : tf.sqrt(tf.addN(squares)).dataSync()[0];
  });
  const coef = maxNorm / (norm + 1e-6);
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) out.set(name, coef < 1 ? tf.tidy(() => g.mul(coef)) : g.clone());
  return { grads: out, norm };
}

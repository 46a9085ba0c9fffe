import * as tf from '../backend/tf';
import type { ForwardMode } from '../contracts/module';

/**
 * `nn.Dropout(p)`: in training, zeroes each element with probability p and scales the rest by 1/(1−p); identity in
 * evaluation. The mask is drawn from `mode.rng` (one draw per element, row-major), so a run replays exactly from
 * its seed and a restored Rng state.
 *
 * @param x any shape
 * @returns same shape as `x`
 */
export function dropout<T extends tf.Tensor>(x: T, p: number, mode: ForwardMode): T {
  if (!mode.training || p === 0) return x;
  if (p < 0 || p >= 1) throw new RangeError(`dropout probability must be in [0, 1), got ${p}`);
  const scale = 1 / (1 - p);
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = mode.rng.next() < p ? 0 : scale;
  return tf.tidy(() => x.mul(tf.tensor(mask, x.shape, 'float32')) as T);
}

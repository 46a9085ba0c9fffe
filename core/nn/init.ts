import { assertWeightFits } from '../backend/memory-guard';
import * as tf from '../backend/tf';
import type { Rng } from '../contracts/services';

/**
 * Initialisers drawn from the run's {@link Rng}, matching PyTorch's defaults (docs/model.md) so a fresh model has the
 * reference's weight statistics. Values are drawn in row-major order of the shape given.
 */

/** `[...shape]` uniform in [-bound, bound). */
export function uniform(rng: Rng, shape: readonly number[], bound: number): tf.Tensor {
  assertWeightFits(shape);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = (2 * rng.next() - 1) * bound;
  return tf.tensor(data, [...shape], 'float32');
}

/**
 * PyTorch's default bound for Linear/Conv weights and biases: `kaiming_uniform_(a=√5)` gives
 * gain·√(3/fan_in) = √(2/(1+5))·√(3/fan_in) = 1/√fan_in, and the bias uses the same 1/√fan_in.
 * For a conv, fan_in = in_channels·kh·kw.
 */
export function defaultBound(fanIn: number): number {
  return fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
}

/** Xavier (Glorot) uniform bound √(6/(fan_in+fan_out)), as the reference's `fc.init_weights`. */
export function xavierBound(fanIn: number, fanOut: number): number {
  return Math.sqrt(6 / (fanIn + fanOut));
}

/**
 * `[...shape]` drawn from N(0, std²) by the Box–Muller transform (two uniforms per pair of values), as BERT's
 * `normal_(0, initializer_range)`. std 0 gives zeros without drawing.
 */
export function normal(rng: Rng, shape: readonly number[], std: number): tf.Tensor {
  assertWeightFits(shape);
  return tf.tensor(
    normalValues(
      rng,
      shape.reduce((a, b) => a * b, 1),
      std,
    ),
    [...shape],
    'float32',
  );
}

/** `size` host values drawn as {@link normal} draws them (for callers that edit them before upload). */
export function normalValues(rng: Rng, size: number, std: number): Float32Array {
  const data = new Float32Array(size);
  if (std === 0) return data;
  for (let i = 0; i < size; i += 2) {
    const radius = std * Math.sqrt(-2 * Math.log(1 - rng.next())); // 1 − u ∈ (0, 1]: no log(0)
    const angle = 2 * Math.PI * rng.next();
    data[i] = radius * Math.cos(angle);
    if (i + 1 < size) data[i + 1] = radius * Math.sin(angle);
  }
  return data;
}

/** `[...shape]` filled with `value`. */
export function constant(shape: readonly number[], value: number): tf.Tensor {
  assertWeightFits(shape);
  return tf.fill([...shape], value, 'float32');
}

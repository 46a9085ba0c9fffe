import * as tf from '../backend/tf';

/**
 * Variable-length mask: 1 where position < length, else 0 (the reference's `arange(N) < lengths`).
 *
 * @param lengths `[B]` valid positions per row
 * @param width N, the padded length
 * @returns `[B, N]` float32 of 0/1
 */
export function lengthMask(lengths: Int32Array, width: number): tf.Tensor2D {
  const data = new Float32Array(lengths.length * width);
  lengths.forEach((n, b) => data.fill(1, b * width, b * width + Math.min(n, width)));
  return tf.tensor2d(data, [lengths.length, width]);
}

/** Largest length, at least `floor` (used to size the padded axis). */
export function maxLength(lengths: Int32Array, floor = 0): number {
  return lengths.reduce((m, n) => Math.max(m, n), floor);
}

/**
 * The reference's fixed 1-D sinusoidal position encoding (`positional_encoding_1d`, used by GPO with width 32 and by
 * VSpM with width 8, docs/model.md):
 *   PE[p, 2i] = sin(p · 10000^(−2i/d)),  PE[p, 2i+1] = cos(p · 10000^(−2i/d)).
 * Computed in float32 arithmetic step by step as PyTorch does (div_term = exp(2i · −ln(10000)/d) in float32, then
 * p · div_term rounded to float32), because for large p the float32 rounding of the angle is visible (VSpM uses
 * p up to 4095).
 *
 * @returns host array `[length, dim]` row-major
 */
export function sinusoidalEncoding(length: number, dim: number): Float32Array {
  if (dim % 2 !== 0) throw new RangeError(`sinusoidal encoding needs an even width, got ${dim}`);
  const f = Math.fround;
  const step = f(-(Math.log(10000) / dim));
  const div = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) div[i] = f(Math.exp(f(2 * i * step)));
  const pe = new Float32Array(length * dim);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < dim / 2; i++) {
      const angle = f(p * div[i]);
      pe[p * dim + 2 * i] = Math.sin(angle);
      pe[p * dim + 2 * i + 1] = Math.cos(angle);
    }
  }
  return pe;
}

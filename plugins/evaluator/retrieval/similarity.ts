/**
 * Image-caption similarities `sims = images · captionsᵀ` computed a block at a time, so an `[N, 5N]` matrix never
 * has to exist whole. Plain TypeScript; the kernel is written for V8.
 *
 * Every entry is the float32 rounding of a float64 sum of float32 products taken in order k = 0 .. D-1 (each
 * product is exact in float64). {@link similarityBlock} and {@link groundTruthScores} therefore produce bitwise
 * identical values for the same pair, which the rank counting relies on: a caption's own score is compared with
 * the other scores of its row and column, and must be the very same number. The reference (numpy float32 BLAS)
 * accumulates in float32 in an unspecified order, so near-ties may fall differently there; ties are rare for real
 * embeddings and this order is the more accurate one.
 */

/** Rows and columns of one cache tile: 64 rows of D = 1024 floats are 256 KiB per side, a typical L2 share. */
const TILE = 64;

/**
 * Writes `sims[r0:r1, c0:c1]` into `out` (row-major `[r1-r0, c1-c0]`).
 *
 * @param images row-major `[N, D]`
 * @param captions row-major `[M, D]` (M = 5N in the retrieval protocol)
 * @param out at least `(r1-r0)·(c1-c0)` floats; rows of `out` are `outStride` apart (default `c1-c0`)
 */
export function similarityBlock(
  images: Float32Array,
  captions: Float32Array,
  dim: number,
  rows: readonly [number, number],
  cols: readonly [number, number],
  out: Float32Array,
  outStride = cols[1] - cols[0],
): void {
  const [r0, r1] = rows;
  const [c0, c1] = cols;
  checkBounds(images, dim, r0, r1, 'images');
  checkBounds(captions, dim, c0, c1, 'captions');
  if (out.length < (r1 - r0 - 1) * outStride + (c1 - c0)) throw new Error(`similarity output holds ${out.length} floats, too few`);
  // Cache tiling: a tile of images against a tile of captions stays in L2 while the register kernel sweeps it.
  for (let i0 = r0; i0 < r1; i0 += TILE) {
    const i1 = Math.min(r1, i0 + TILE);
    for (let j0 = c0; j0 < c1; j0 += TILE) {
      tile(images, captions, dim, i0, i1, j0, Math.min(c1, j0 + TILE), out, (i0 - r0) * outStride - c0, outStride);
    }
  }
}

/**
 * Each caption's score with its own image: entry `j - c0` is `sims[floor(j/5), j]` for captions `c0 .. c1-1`.
 *
 * @param images row-major `[N, D]`
 * @param captions row-major `[5N, D]`
 * @returns `[c1-c0]`
 */
export function groundTruthScores(images: Float32Array, captions: Float32Array, dim: number, c0: number, c1: number): Float32Array {
  checkBounds(captions, dim, c0, c1, 'captions');
  checkBounds(images, dim, Math.floor(c0 / 5), Math.floor((c1 - 1) / 5) + 1, 'images');
  const out = new Float32Array(c1 - c0);
  for (let j = c0; j < c1; j++) out[j - c0] = dot(images, Math.floor(j / 5) * dim, captions, j * dim, dim);
  return out;
}

/**
 * One cache tile: pairs of image rows against quads of caption rows, 8 float64 accumulators held in registers
 * (8 multiply-adds per 6 loads). Measured 3-4x faster than an i-k-j loop over a transposed caption panel in V8,
 * which stores its accumulator row to memory on every step. Edges fall back to single dot products.
 * `outBase + i·stride + j` is where sims[i, j] goes.
 */
function tile(
  a: Float32Array,
  b: Float32Array,
  dim: number,
  i0: number,
  i1: number,
  j0: number,
  j1: number,
  out: Float32Array,
  outBase: number,
  stride: number,
): void {
  const iEnd = i0 + ((i1 - i0) & ~1);
  const jEnd = j0 + ((j1 - j0) & ~3);
  for (let i = i0; i < iEnd; i += 2) {
    const a0 = i * dim;
    const a1 = a0 + dim;
    for (let j = j0; j < jEnd; j += 4) {
      const b0 = j * dim;
      const b1 = b0 + dim;
      const b2 = b1 + dim;
      const b3 = b2 + dim;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0; // prettier-ignore
      for (let k = 0; k < dim; k++) {
        const x0 = a[a0 + k];
        const x1 = a[a1 + k];
        const y0 = b[b0 + k];
        const y1 = b[b1 + k];
        const y2 = b[b2 + k];
        const y3 = b[b3 + k];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s02 += x0 * y2;
        s03 += x0 * y3;
        s10 += x1 * y0;
        s11 += x1 * y1;
        s12 += x1 * y2;
        s13 += x1 * y3;
      }
      let o = outBase + (i - i0) * stride + j;
      out[o] = s00;
      out[o + 1] = s01;
      out[o + 2] = s02;
      out[o + 3] = s03;
      o += stride;
      out[o] = s10;
      out[o + 1] = s11;
      out[o + 2] = s12;
      out[o + 3] = s13;
    }
    for (let j = jEnd; j < j1; j++) {
      out[outBase + (i - i0) * stride + j] = dot(a, a0, b, j * dim, dim);
      out[outBase + (i + 1 - i0) * stride + j] = dot(a, a1, b, j * dim, dim);
    }
  }
  for (let i = iEnd; i < i1; i++) {
    for (let j = j0; j < j1; j++) out[outBase + (i - i0) * stride + j] = dot(a, i * dim, b, j * dim, dim);
  }
}

function dot(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) s += a[aOffset + k] * b[bOffset + k];
  return s;
}

function checkBounds(data: Float32Array, dim: number, start: number, end: number, what: string): void {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`embedding dimension must be a positive integer, got ${dim}`);
  if (start < 0 || end < start || end * dim > data.length) {
    throw new Error(`${what} rows [${start}, ${end}) of dimension ${dim} exceed the ${data.length / dim} rows given`);
  }
}

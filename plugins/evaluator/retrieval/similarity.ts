/**
 * Image-caption similarities `sims = images · captionsᵀ` computed a block at a time, so an `[N, 5N]` matrix never
 * has to exist whole. Two kernels:
 *
 * - {@link similarityBlock}: plain TypeScript, exact. Every entry is the float32 rounding of a float64 sum of
 *   float32 products taken in order k = 0 .. D-1 (each product is exact in float64). {@link similarityBlock} and
 *   {@link groundTruthScores} therefore produce bitwise identical values for the same pair, which the rank counting
 *   relies on: a caption's own score is compared with the other scores of its row and column, and must be the very
 *   same number. The reference (numpy float32 BLAS) accumulates in float32 in an unspecified order, so near-ties
 *   may fall differently there; ties are rare for real embeddings and this order is the more accurate one.
 * - {@link MatmulSimilarity}: the active tfjs backend's matMul (float32, blocked; 15-20x the plain kernel), with
 *   every entry that could fall on the other side of a rank threshold replaced by its exact value, so the ranks
 *   are those of the exact kernel (see the class).
 */
import { tf } from 'shnet';
import type { ScoreBound } from './ranks';

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

/** Backends whose matMul is plain IEEE float32 (no TF32 or bfloat16 shortcuts), which the error bound assumes. */
const FLOAT32_MATMUL_BACKENDS = new Set(['wasm', 'tensorflow']);

/** Whether {@link MatmulSimilarity} may run on the active backend (false when none is initialised yet, or cpu, slower than the TS kernel). */
export function matmulSimilarityAvailable(): boolean {
  const active = tf.engine().backendName;
  return active != null && FLOAT32_MATMUL_BACKENDS.has(active);
}

/**
 * Similarity blocks from the active tfjs backend's matMul, with the exact kernel's ranks.
 *
 * A float32 dot product of length D summed in any order (blocked, FMA or not) is within
 * γ_D·Σ|a_k·b_k| ≤ γ_D·‖a‖·‖b‖ of the exact sum, γ_D = D·u/(1 − D·u), u = 2⁻²⁴ (Higham, Accuracy and Stability
 * of Numerical Algorithms, §3.1); the exact kernel's float32 rounding adds u·‖a‖·‖b‖. Ranks only compare entries
 * with two thresholds: a column's ground-truth score (t2i) and the best of the row's own five (i2t). So an entry
 * farther than that bound from both thresholds already compares as its exact value would, and an entry within it is
 * recomputed exactly (a handful per row for real embeddings). The thresholds themselves (the ground truth and the
 * five own scores of each row) are always exact. Rank counts are therefore identical to {@link similarityBlock}'s;
 * other entries differ from it by at most the bound. {@link block} makes those entries exact itself;
 * {@link approximateBlock} leaves it to the rank counting, which looks at every entry anyway.
 *
 * Holds the captions on the backend, transposed (`[D, 5N]`, 4·D·5N bytes); call {@link dispose} when done.
 */
export class MatmulSimilarity {
  readonly images: number;
  private readonly captionsT: tf.Tensor2D;
  private readonly imageNorms: Float64Array;
  private readonly captionNorms: Float64Array;
  /** tolerance·‖b_j‖ per caption: an entry's bound is its image's norm times this. */
  private readonly columnTolerance: Float64Array;
  private readonly groundTruth: Float32Array;
  /** Relative error bound: |matMul − exact| ≤ tolerance·‖a‖·‖b‖ (with a margin for the norms' own rounding). */
  private readonly tolerance: number;
  private window: { c0: number; c1: number; tensor: tf.Tensor2D } | undefined;
  /** Entries recomputed exactly so far (for benchmarks: the price of exact ranks). */
  recomputed = 0;

  /**
   * @param images row-major `[N, D]`
   * @param captions row-major `[5N, D]`, captions 5i .. 5i+4 describing image i
   */
  constructor(
    private readonly imageData: Float32Array,
    private readonly captionData: Float32Array,
    private readonly dim: number,
  ) {
    this.images = imageData.length / dim;
    const columns = captionData.length / dim;
    checkBounds(imageData, dim, 0, this.images, 'images');
    checkBounds(captionData, dim, 0, columns, 'captions');
    this.imageNorms = rowNorms(imageData, dim);
    this.captionNorms = rowNorms(captionData, dim);
    this.groundTruth = groundTruthScores(imageData, captionData, dim, 0, columns);
    const u = 2 ** -24;
    this.tolerance = 1.25 * ((dim * u) / (1 - dim * u) + 2 * u);
    this.columnTolerance = this.captionNorms.map((norm) => this.tolerance * norm);
    this.captionsT = tf.tidy(() => tf.transpose(tf.tensor2d(captionData, [columns, dim])));
  }

  /** Exact `sims[floor(j/5), j]` for captions `c0 .. c1-1`: `[c1-c0]` (the same numbers as {@link groundTruthScores}). */
  groundTruthScores(c0: number, c1: number): Float32Array {
    return this.groundTruth.slice(c0, c1);
  }

  /**
   * Writes `sims[r0:r1, c0:c1]` row-major into `out` `[r1-r0, c1-c0]`, entries near a rank threshold of their full
   * row and column exact (so a saved matrix ranks as the exact kernel's does).
   */
  block(rows: readonly [number, number], cols: readonly [number, number], out: Float32Array): void {
    const [r0, r1] = rows;
    const [c0, c1] = cols;
    const width = c1 - c0;
    if (out.length < (r1 - r0) * width) throw new Error(`similarity output holds ${out.length} floats, too few`);
    this.approximateBlock(rows, cols, (values) => out.set(values));
    for (let i = r0; i < r1; i++) this.makeRanksExact(i, c0, c1, out, (i - r0) * width - c0);
  }

  /**
   * Hands `use` the block `sims[r0:r1, c0:c1]` row-major (`[r1-r0, c1-c0]`) as the backend computed it, with the
   * bound every value is within of its exact one. Nothing is recomputed here: `RankAccumulator.addRows` makes the
   * few entries near a threshold exact in the pass that counts them, so the block is read once, not twice.
   * `values` is the backend's own memory where it can be (the wasm heap): valid only during the call.
   */
  approximateBlock(rows: readonly [number, number], cols: readonly [number, number], use: (values: Float32Array, bound: ScoreBound) => void): void {
    const [r0, r1] = rows;
    const [c0, c1] = cols;
    checkBounds(this.imageData, this.dim, r0, r1, 'images');
    if (c0 < 0 || c1 < c0 || c1 > this.captionNorms.length) throw new Error(`captions [${c0}, ${c1}) exceed the ${this.captionNorms.length} given`);
    const product = tf.tidy(() => {
      const a = tf.tensor2d(this.imageData.subarray(r0 * this.dim, r1 * this.dim), [r1 - r0, this.dim]);
      return tf.matMul(a, this.columnWindow(c0, c1));
    });
    try {
      const { imageData: a, captionData: b, dim } = this;
      const exact = (r: number, j: number) => {
        if ((c0 + j - 5 * (r0 + r)) >>> 0 >= 5) this.recomputed++; // the own five are thresholds, not counted
        return Math.fround(dot(a, (r0 + r) * dim, b, (c0 + j) * dim, dim));
      };
      const bound = { rowScale: this.imageNorms.subarray(r0, r1), columnScale: this.columnTolerance.subarray(c0, c1), exact };
      use(readProduct(product), bound);
    } finally {
      product.dispose();
    }
  }

  /** Releases the captions held on the backend. */
  dispose(): void {
    this.captionsT.dispose();
    this.window?.tensor.dispose();
    this.window = undefined;
  }

  /** `[D, c1-c0]`: the caption columns of a block; kept, since a protocol asks for the same window block after block. */
  private columnWindow(c0: number, c1: number): tf.Tensor2D {
    if (c0 === 0 && c1 === this.captionNorms.length) return this.captionsT;
    if (this.window?.c0 !== c0 || this.window.c1 !== c1) {
      this.window?.tensor.dispose();
      this.window = { c0, c1, tensor: tf.keep(tf.slice(this.captionsT, [0, c0], [this.dim, c1 - c0])) };
    }
    return this.window.tensor;
  }

  /** Row `i` of a block (`out[base + j]` is sims[i, j]): exact own scores, exact entries near a threshold. */
  private makeRanksExact(i: number, c0: number, c1: number, out: Float32Array, base: number): void {
    const { imageData: a, captionData: b, dim, groundTruth, columnTolerance } = this;
    const iOffset = i * dim;
    let best = -Infinity;
    for (let j = 5 * i; j < 5 * i + 5; j++) {
      const exact = Math.fround(dot(a, iOffset, b, j * dim, dim));
      if (exact > best) best = exact;
      if (j >= c0 && j < c1) out[base + j] = exact;
    }
    const rowNorm = this.imageNorms[i];
    let recomputed = 0;
    for (let j = c0; j < c1; j++) {
      const v = out[base + j];
      const tol = rowNorm * columnTolerance[j];
      const fromTruth = v - groundTruth[j];
      const fromBest = v - best;
      // NaN fails every comparison, so it is recomputed too (and then reported by the rank counting).
      if (!(fromTruth > tol || fromTruth < -tol) || !(fromBest > tol || fromBest < -tol)) {
        out[base + j] = Math.fround(dot(a, iOffset, b, j * dim, dim));
        recomputed++;
      }
    }
    this.recomputed += recomputed;
  }
}

/**
 * A float32 tensor's values without a copy where the backend allows it: on wasm a view of the heap (valid until
 * the next allocation on the backend), elsewhere `dataSync()`.
 */
function readProduct(product: tf.Tensor): Float32Array {
  const backend = tf.backend() as Partial<{ typedArrayFromHeap(info: tf.TensorInfo): Float32Array }>;
  if (tf.engine().backendName === 'wasm' && typeof backend.typedArrayFromHeap === 'function') {
    return backend.typedArrayFromHeap({ dataId: product.dataId, shape: product.shape, dtype: product.dtype });
  }
  return product.dataSync() as Float32Array;
}

/** Euclidean norm of each row of a row-major `[rows, dim]` matrix, in float64 (rounded up a little: the bound needs ≥). */
function rowNorms(data: Float32Array, dim: number): Float64Array {
  const out = new Float64Array(data.length / dim);
  for (let r = 0; r < out.length; r++) {
    let s = 0;
    for (let k = r * dim; k < (r + 1) * dim; k++) s += data[k] * data[k];
    out[r] = Math.sqrt(s) * (1 + 1e-12);
  }
  return out;
}

/**
 * Where a similarity matrix `[N, 5N]` comes from, a block at a time: embeddings (computed on demand), a matrix
 * in memory, or the element-wise mean of several saved `.npy` matrices (the ensemble of docs/evaluation.md).
 */
import { NpyReader } from 'shnet';
import type { ScoreBound } from './ranks';
import { MatmulSimilarity, groundTruthScores, matmulSimilarityAvailable, similarityBlock } from './similarity';

/** A `[N, 5N]` similarity matrix that can be read a block at a time. */
export interface SimilaritySource {
  /** N, the number of images (rows). */
  readonly images: number;
  /** Writes `sims[r0:r1, c0:c1]` row-major into `out` `[r1-r0, c1-c0]`. */
  block(rows: readonly [number, number], cols: readonly [number, number], out: Float32Array): Promise<void>;
  /**
   * Optional, for rank counting only: hands `use` the block `sims[r0:r1, c0:c1]` (`[r1-r0, c1-c0]`) with values
   * within `bound` of exact, for `RankAccumulator.addRows` to resolve (cheaper than {@link block} when exact
   * near-threshold values cost a pass of their own). `values` is valid only during the call.
   */
  approximateBlock?(rows: readonly [number, number], cols: readonly [number, number], use: (values: Float32Array, bound: ScoreBound) => void): Promise<void>;
  /** `sims[floor(j/5), j]` for captions `c0 .. c1-1`: `[c1-c0]`. */
  groundTruth(c0: number, c1: number): Promise<Float32Array>;
  /** Releases files; the source is unusable afterwards. */
  close(): void;
}

/**
 * Which kernel computes similarities of embeddings: `matmul` (the active tfjs backend's matMul, ranks exact; see
 * `MatmulSimilarity`), `exact` (plain TypeScript, every value exact; see `similarityBlock`), or `auto`: matmul when
 * a float32 backend (wasm, tensorflow) is active, else exact.
 */
export type SimilarityKernel = 'auto' | 'matmul' | 'exact';

/**
 * Similarities of embeddings, computed block by block. Ranks are the same with either kernel; saved matrices hold
 * matMul values with `matmul` (entries near a rank threshold exact).
 *
 * @param images row-major `[N, D]`
 * @param captions row-major `[5N, D]`, captions 5i .. 5i+4 describing image i
 */
export function embeddingSimilarity(images: Float32Array, captions: Float32Array, dim: number, kernel: SimilarityKernel = 'auto'): SimilaritySource {
  if (!Number.isInteger(dim) || dim <= 0 || images.length % dim !== 0 || images.length === 0) {
    throw new Error(`image embeddings of ${images.length} floats are not [N, ${dim}]`);
  }
  const n = images.length / dim;
  if (captions.length !== 5 * n * dim) {
    throw new Error(`caption embeddings hold ${captions.length / dim} rows of ${dim}, ${n} images need ${5 * n}`);
  }
  // A non-finite embedding makes NaN similarities; say which row instead of failing later inside the ranking.
  for (const [what, data] of [
    ['image', images],
    ['caption', captions],
  ] as const) {
    const bad = firstNonFinite(data);
    if (bad >= 0) throw new Error(`${what} embedding ${Math.floor(bad / dim)} has a non-finite value (${data[bad]})`);
  }
  if (kernel === 'matmul' || (kernel === 'auto' && matmulSimilarityAvailable())) {
    const matmul = new MatmulSimilarity(images, captions, dim);
    return {
      images: n,
      block: async (rows, cols, out) => matmul.block(rows, cols, out),
      approximateBlock: async (rows, cols, use) => matmul.approximateBlock(rows, cols, use),
      groundTruth: async (c0, c1) => matmul.groundTruthScores(c0, c1),
      close: () => matmul.dispose(),
    };
  }
  return {
    images: n,
    block: async (rows, cols, out) => similarityBlock(images, captions, dim, rows, cols, out),
    groundTruth: async (c0, c1) => groundTruthScores(images, captions, dim, c0, c1),
    close: () => undefined,
  };
}

/** Index of the first NaN or ±Infinity in `data`, or -1 (a plain loop: 30 M values in milliseconds, not a callback each). */
function firstNonFinite(data: Float32Array): number {
  for (let k = 0; k < data.length; k++) {
    const v = data[k];
    if (v - v !== 0) return k; // NaN - NaN and ∞ - ∞ are NaN
  }
  return -1;
}

/** An in-memory `[N, 5N]` matrix as a source. */
export function matrixSimilarity(sims: Float32Array, images: number): SimilaritySource {
  const columns = 5 * images;
  if (sims.length !== images * columns) throw new Error(`a similarity matrix of ${sims.length} values is not [${images}, ${columns}]`);
  return {
    images,
    block: async ([r0, r1], [c0, c1], out) => {
      for (let i = r0; i < r1; i++) out.set(sims.subarray(i * columns + c0, i * columns + c1), (i - r0) * (c1 - c0));
    },
    groundTruth: async (c0, c1) => Float32Array.from({ length: c1 - c0 }, (_, k) => sims[Math.floor((c0 + k) / 5) * columns + c0 + k]),
    close: () => undefined,
  };
}

/**
 * The element-wise mean of saved `[N, 5N]` float `.npy` matrices, read a block of rows at a time. Summed in
 * float32 in the given order and then divided, as numpy's `(sims1 + sims2) / 2` on float32 arrays does.
 */
export function ensembleSimilarity(paths: readonly string[]): SimilaritySource {
  if (paths.length === 0) throw new Error('an ensemble needs at least one similarity matrix');
  const readers: NpyReader[] = [];
  try {
    for (const path of paths) readers.push(NpyReader.open(path, { expectShape: [-1, -1] }));
  } catch (err) {
    for (const reader of readers) reader.close();
    throw err;
  }
  const [n, columns] = readers[0].shape;
  for (const reader of readers) {
    if (reader.shape[0] !== n || reader.shape[1] !== columns || columns !== 5 * n) {
      for (const r of readers) r.close();
      throw new Error(`${reader.path}: shape (${reader.shape.join(', ')}) differs from [N, 5N] = (${n}, ${5 * n}) of ${paths[0]}`);
    }
  }
  let scratch = new Float32Array(0);
  return {
    images: n,
    block: async ([r0, r1], [c0, c1], out) => {
      const width = c1 - c0;
      if (scratch.length < (r1 - r0) * columns) scratch = new Float32Array((r1 - r0) * columns);
      for (let m = 0; m < readers.length; m++) {
        await readers[m].readRowRange(r0, r1 - r0, scratch);
        for (let i = 0; i < r1 - r0; i++) {
          const from = i * columns + c0;
          const to = i * width;
          if (m === 0) out.set(scratch.subarray(from, from + width), to);
          else for (let j = 0; j < width; j++) out[to + j] += scratch[from + j]; // Float32Array stores round: float32 sums
        }
      }
      if (readers.length > 1) for (let k = 0; k < (r1 - r0) * width; k++) out[k] /= readers.length;
    },
    groundTruth: async (c0, c1) => {
      const out = new Float32Array(c1 - c0);
      for (let m = 0; m < readers.length; m++) {
        // An image's own captions sit side by side in its row: one small read per image.
        for (let image = Math.floor(c0 / 5); image * 5 < c1; image++) {
          const lo = Math.max(5 * image, c0);
          const values = readers[m].readRowSliceSync(image, lo, Math.min(5 * image + 5, c1) - lo);
          for (let k = 0; k < values.length; k++) out[lo - c0 + k] = m === 0 ? values[k] : out[lo - c0 + k] + values[k];
        }
      }
      if (readers.length > 1) for (let k = 0; k < out.length; k++) out[k] /= readers.length;
      return out;
    },
    close: () => readers.forEach((r) => r.close()),
  };
}

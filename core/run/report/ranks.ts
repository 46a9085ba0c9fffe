import { tf } from '../../backend/tf';
import type { EmbeddingSet } from '../../contracts/evaluation';

/** Results kept per query. */
export const TOP = 5;

/**
 * Where each query's ground truth landed, both ways, over every image of a split (protocol `all`):
 * - text → image: for caption j (of image ⌊j/5⌋), the 0-based rank of its image among the N, and its top
 *   {@link TOP} images;
 * - image → text: for image i, the 0-based rank of its best-placed own caption among the 5N, and its top captions.
 * A rank counts the candidates scoring strictly higher than the ground truth (ties in its favour).
 */
export interface RetrievalRanks {
  readonly numImages: number;
  /** `[5N]` */
  readonly captionRanks: Int32Array;
  /** `[5N, TOP]` image ids, best first. */
  readonly captionTop: Int32Array;
  /** `[5N, TOP]` their scores. */
  readonly captionTopScores: Float32Array;
  /** `[N]` */
  readonly imageRanks: Int32Array;
  /** `[N, TOP]` caption ids, best first. */
  readonly imageTop: Int32Array;
  readonly imageTopScores: Float32Array;
}

/** Rows of the similarity matrix computed per matMul: bounds memory to chunk × 5N floats whatever N is. */
const CHUNK = 256;

/** Ranks and top results of every caption and image of `embeddings` (see {@link RetrievalRanks}). */
export function retrievalRanks(embeddings: EmbeddingSet): RetrievalRanks {
  const { numImages: n, dim } = embeddings;
  const captions = tf.tensor2d(embeddings.captions, [5 * n, dim]);
  const images = tf.tensor2d(embeddings.images, [n, dim]);
  try {
    const text = rankRows(captions, images, 5 * n, n, (j) => [Math.floor(j / 5)]);
    const image = rankRows(images, captions, n, 5 * n, (i) => [5 * i, 5 * i + 1, 5 * i + 2, 5 * i + 3, 5 * i + 4]);
    return {
      numImages: n,
      captionRanks: text.ranks,
      captionTop: text.top,
      captionTopScores: text.topScores,
      imageRanks: image.ranks,
      imageTop: image.top,
      imageTopScores: image.topScores,
    };
  } finally {
    captions.dispose();
    images.dispose();
  }
}

/** For each query row: the rank of its best-scoring ground-truth candidate, and its top candidates. */
function rankRows(queries: tf.Tensor2D, candidates: tf.Tensor2D, rows: number, columns: number, truth: (row: number) => number[]) {
  const keep = Math.min(TOP, columns);
  const ranks = new Int32Array(rows);
  const top = new Int32Array(rows * TOP).fill(-1);
  const topScores = new Float32Array(rows * TOP).fill(Number.NaN);
  for (let start = 0; start < rows; start += CHUNK) {
    const count = Math.min(CHUNK, rows - start);
    const scores = tf.tidy(() => tf.matMul(queries.slice([start, 0], [count, -1]), candidates, false, true).dataSync() as Float32Array);
    for (let r = 0; r < count; r++) {
      const row = scores.subarray(r * columns, (r + 1) * columns);
      const best = Math.max(...truth(start + r).map((c) => row[c]));
      let above = 0;
      for (let c = 0; c < columns; c++) if (row[c] > best) above++;
      ranks[start + r] = above;
      const order = topIndices(row, keep);
      order.forEach((c, t) => {
        top[(start + r) * TOP + t] = c;
        topScores[(start + r) * TOP + t] = row[c];
      });
    }
  }
  return { ranks, top, topScores };
}

/** Indices of the `k` largest values, largest first (ties: lower index first). */
function topIndices(values: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length === k && values[i] <= values[best[k - 1]]) continue;
    let slot = Math.min(best.length, k - 1);
    if (best.length < k) best.push(i);
    while (slot > 0 && values[best[slot - 1]] < values[i]) {
      best[slot] = best[slot - 1];
      slot--;
    }
    best[slot] = i;
  }
  return best;
}

/** Share (in %) of `ranks` below `k`: recall@k. */
export function recallAt(ranks: ArrayLike<number>, k: number): number {
  if (ranks.length === 0) return Number.NaN;
  let hits = 0;
  for (let i = 0; i < ranks.length; i++) if (ranks[i] < k) hits++;
  return (100 * hits) / ranks.length;
}

/** medr as the evaluator reports it: floor of the median 0-based rank, plus one. */
export function medianRank(ranks: ArrayLike<number>): number {
  if (ranks.length === 0) return Number.NaN;
  const sorted = Float64Array.from(ranks).sort();
  const mid = sorted.length >> 1;
  return 1 + Math.floor(sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2);
}

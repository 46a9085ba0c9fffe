/**
 * Ranks of the ground truth under the reference protocol (§5 of the spec), counted without sorting.
 *
 * `sims` is `[N, 5N]`: image rows, caption columns; caption j belongs to image floor(j/5).
 * - i2t: for image i, the best (lowest) 0-based position of its captions 5i .. 5i+4 in row i sorted descending.
 * - t2i: for caption j, the 0-based position of image floor(j/5) in column j sorted descending.
 *
 * Ties. The reference takes positions from `np.argsort(row)[::-1]`. numpy's default argsort is an unstable
 * introsort (and SIMD-sorted on some CPUs), so the order of equal scores is an implementation detail there. Here a
 * rank is the number of scores *strictly greater* than the ground truth's: ties resolve in the query's favour
 * (optimistic). Without ties this is exactly the reference's rank, in O(5N) per query instead of a sort. For i2t
 * the best of five is the count above the largest of the five scores. NaN anywhere is an error: numpy would sort
 * it first after the reversal, so no finite answer would match.
 */

/**
 * Counts ranks from blocks of rows of a similarity matrix, so the matrix can be produced (computed, read from disk,
 * averaged) a block at a time. Every row must be added exactly once before {@link finish}.
 */
export class RankAccumulator {
  private readonly i2t: Int32Array;
  private readonly t2i: Int32Array;
  private readonly seen: Uint8Array;
  private rowsSeen = 0;

  /**
   * @param images N, the number of image rows
   * @param groundTruth `[5N]`: `sims[floor(j/5), j]` for every caption j (see `groundTruthScores`)
   */
  constructor(
    readonly images: number,
    private readonly groundTruth: Float32Array,
  ) {
    if (!Number.isInteger(images) || images <= 0) throw new Error(`number of images must be a positive integer, got ${images}`);
    if (groundTruth.length !== 5 * images) {
      throw new Error(`ground-truth scores hold ${groundTruth.length} values, ${images} images have ${5 * images} captions`);
    }
    const nan = groundTruth.findIndex((v) => Number.isNaN(v));
    if (nan >= 0) throw new Error(`similarity of caption ${nan} with its image is NaN`);
    this.i2t = new Int32Array(images);
    this.t2i = new Int32Array(5 * images);
    this.seen = new Uint8Array(images);
  }

  /**
   * Adds image rows `firstRow .. firstRow+count-1`. Row r of the block is
   * `block[r·stride + offset .. r·stride + offset + 5N)`, so a block may be a column window of a wider matrix
   * (one fold of the 5-fold protocol inside full rows).
   *
   * @param block `[count, stride]`, default stride 5N
   */
  addRows(firstRow: number, count: number, block: Float32Array, stride = 5 * this.images, offset = 0): void {
    const columns = 5 * this.images;
    if (firstRow < 0 || count < 0 || firstRow + count > this.images) {
      throw new Error(`rows [${firstRow}, ${firstRow + count}) are outside [0, ${this.images})`);
    }
    if (count > 0 && block.length < (count - 1) * stride + offset + columns) {
      throw new Error(`a block of ${count} rows with stride ${stride} needs more than the ${block.length} floats given`);
    }
    const { i2t, t2i, groundTruth } = this;
    for (let r = 0; r < count; r++) {
      const image = firstRow + r;
      if (this.seen[image]) throw new Error(`image row ${image} was added twice`);
      this.seen[image] = 1;
      const base = r * stride + offset;
      const own = base + 5 * image;
      const best = Math.max(block[own], block[own + 1], block[own + 2], block[own + 3], block[own + 4]);
      let above = 0;
      let nan = false;
      for (let j = 0; j < columns; j++) {
        const s = block[base + j];
        if (s > best) above++;
        if (s > groundTruth[j]) t2i[j]++;
        if (s !== s) nan = true;
      }
      if (nan) throw new Error(`similarity row of image ${image} contains NaN`);
      i2t[image] = above;
    }
    this.rowsSeen += count;
  }

  /** The ranks, once every row was added: i2t `[N]` and t2i `[5N]`, 0-based. */
  finish(): { i2t: Int32Array; t2i: Int32Array } {
    if (this.rowsSeen !== this.images) {
      throw new Error(`${this.images - this.rowsSeen} of ${this.images} image rows were never added (first: ${this.seen.indexOf(0)})`);
    }
    return { i2t: this.i2t, t2i: this.t2i };
  }
}

/** `sims[floor(j/5), j]` for every caption j of an in-memory `[N, 5N]` matrix; returns `[5N]`. */
export function groundTruthOf(sims: Float32Array, images: number): Float32Array {
  checkSquare(sims, images);
  const columns = 5 * images;
  return Float32Array.from({ length: columns }, (_, j) => sims[Math.floor(j / 5) * columns + j]);
}

/** Both rank lists of an in-memory `[N, 5N]` similarity matrix. */
export function retrievalRanks(sims: Float32Array, images: number): { i2t: Int32Array; t2i: Int32Array } {
  const ranks = new RankAccumulator(images, groundTruthOf(sims, images));
  ranks.addRows(0, images, sims);
  return ranks.finish();
}

/** i2t ranks of `sims` `[N, 5N]`: `[N]`, 0-based, ties in the query's favour. */
export function i2tRanks(sims: Float32Array, images: number): Int32Array {
  return retrievalRanks(sims, images).i2t;
}

/** t2i ranks of `sims` `[N, 5N]`: `[5N]`, 0-based, ties in the query's favour. */
export function t2iRanks(sims: Float32Array, images: number): Int32Array {
  return retrievalRanks(sims, images).t2i;
}

/** N from the length of an `[N, 5N]` matrix (5N² entries), when the caller did not say. */
export function imagesOf(sims: Float32Array): number {
  const images = Math.round(Math.sqrt(sims.length / 5));
  checkSquare(sims, images);
  return images;
}

function checkSquare(sims: Float32Array, images: number): void {
  if (!Number.isInteger(images) || images <= 0 || sims.length !== 5 * images * images) {
    throw new Error(`a similarity matrix of ${sims.length} values is not [N, 5N] for N = ${images}`);
  }
}

/**
 * Ranks of the ground truth under the reference protocol (docs/evaluation.md), counted without sorting.
 *
 * `sims` is `[N, 5N]`: image rows, caption columns; caption j belongs to image floor(j/5).
 * - i2t: for image i, the best (lowest) 0-based position of its captions 5i .. 5i+4 in row i sorted descending.
 * - t2i: for caption j, the 0-based position of image floor(j/5) in column j sorted descending.
 *
 * Ties (docs/evaluation.md). The reference takes positions from `np.argsort(row)[::-1]`. numpy's default argsort
 * is an unstable introsort (and SIMD-sorted on some CPUs), so the order of equal scores is an implementation detail
 * there. Here the policy is stated: a rank is the number of other items scoring *strictly greater* than the ground
 * truth (`optimistic`, ties resolve in the query's favour, the default) or *greater or equal* (`pessimistic`,
 * every tie counts against the query). Without ties both are exactly the reference's rank, in O(5N) per query
 * instead of a sort. For i2t the best of five is the count above the largest of the five scores; the other four
 * are never counted against it. NaN anywhere is an error: numpy would sort it first after the reversal, so no
 * finite answer would match.
 */
import type { TiePolicy } from 'shnet';

/** The tie policies, in the order the options schema lists them. */
export const TIE_POLICIES: readonly TiePolicy[] = ['optimistic', 'pessimistic'];

/**
 * Scores known only to within a bound of their exact values, and a way to get the exact values (a similarity block
 * from a float32 matMul; see `MatmulSimilarity`). Indices are those of the block handed to
 * {@link RankAccumulator.addRows}: row r of the block, column j of the accumulator's 5N columns.
 */
export interface ScoreBound {
  /** `|score(r, j) − exact(r, j)| ≤ rowScale[r] · columnScale[j]`; `[count]` */
  readonly rowScale: ArrayLike<number>;
  /** `[5N]` */
  readonly columnScale: ArrayLike<number>;
  /** The exact score of row r, column j. */
  exact(row: number, column: number): number;
}

/** Where the rows of a block sit in its array, and how exact its scores are. */
export interface BlockLayout {
  /** Floats from one row to the next (default 5N). */
  stride?: number;
  /** Where row 0's first column is (default 0): a block may be a column window of a wider matrix. */
  offset?: number;
  /**
   * The scores are only within this bound of exact. Every score that could compare differently with a rank
   * threshold than its exact value is replaced by the exact value (in the block too), and the own five scores
   * of each row always are; the ranks are then those of the exact scores.
   */
  bound?: ScoreBound;
}

/**
 * Counts ranks from blocks of rows of a similarity matrix, so the matrix can be produced (computed, read from disk,
 * averaged) a block at a time. Every row must be added exactly once before {@link finish}.
 */
export class RankAccumulator {
  private readonly i2t: Int32Array;
  private readonly t2i: Int32Array;
  /** Other items scoring exactly the ground truth's score, counted for the pessimistic policy. */
  private readonly i2tTies: Int32Array;
  private readonly t2iTies: Int32Array;
  private readonly seen: Uint8Array;
  /** Per column, the score below which an entry of the current block is certainly below the column's threshold. */
  private readonly below: Float64Array;
  private rowsSeen = 0;

  /**
   * @param images N, the number of image rows
   * @param groundTruth `[5N]`: `sims[floor(j/5), j]` for every caption j (see `groundTruthScores`)
   * @param ties how {@link finish} ranks equal scores
   */
  constructor(
    readonly images: number,
    private readonly groundTruth: Float32Array,
    readonly ties: TiePolicy = 'optimistic',
  ) {
    if (!Number.isInteger(images) || images <= 0) throw new Error(`number of images must be a positive integer, got ${images}`);
    if (groundTruth.length !== 5 * images) {
      throw new Error(`ground-truth scores hold ${groundTruth.length} values, ${images} images have ${5 * images} captions`);
    }
    const nan = groundTruth.findIndex((v) => Number.isNaN(v));
    if (nan >= 0) throw new Error(`similarity of caption ${nan} with its image is NaN`);
    this.i2t = new Int32Array(images);
    this.t2i = new Int32Array(5 * images);
    this.i2tTies = new Int32Array(images);
    this.t2iTies = new Int32Array(5 * images);
    this.seen = new Uint8Array(images);
    this.below = new Float64Array(5 * images);
  }

  /**
   * Adds image rows `firstRow .. firstRow+count-1`. Row r of the block is
   * `block[r·stride + offset .. r·stride + offset + 5N)`.
   *
   * @param block `[count, stride]`; with a bound, entries near a threshold are overwritten with exact scores
   */
  addRows(firstRow: number, count: number, block: Float32Array, layout: BlockLayout = {}): void {
    const columns = 5 * this.images;
    const { stride = columns, offset = 0, bound } = layout;
    if (firstRow < 0 || count < 0 || firstRow + count > this.images) {
      throw new Error(`rows [${firstRow}, ${firstRow + count}) are outside [0, ${this.images})`);
    }
    if (count > 0 && block.length < (count - 1) * stride + offset + columns) {
      throw new Error(`a block of ${count} rows with stride ${stride} needs more than the ${block.length} floats given`);
    }
    if (bound !== undefined && (bound.rowScale.length < count || bound.columnScale.length < columns)) {
      throw new Error(`a score bound for ${count} rows and ${columns} columns has ${bound.rowScale.length} and ${bound.columnScale.length}`);
    }
    for (let r = 0; r < count; r++) {
      if (this.seen[firstRow + r]) throw new Error(`image row ${firstRow + r} was added twice`);
    }
    // One pass per row. Most scores lie below both thresholds (the column's ground truth, the row's best own score)
    // by more than the bound, which two comparisons settle; the rest are counted with the exact value if they
    // lie within the bound of a threshold. Without a bound the margins are 0 and nothing is recomputed.
    const { i2t, t2i, i2tTies, t2iTies, groundTruth, below } = this;
    let rowMargin = 0;
    let columnMargin = 0;
    if (bound !== undefined) {
      for (let r = 0; r < count; r++) rowMargin = Math.max(rowMargin, bound.rowScale[r]);
      for (let j = 0; j < columns; j++) columnMargin = Math.max(columnMargin, bound.columnScale[j]);
      for (let j = 0; j < columns; j++) below[j] = groundTruth[j] - rowMargin * bound.columnScale[j];
    } else {
      below.set(groundTruth);
    }
    for (let r = 0; r < count; r++) {
      const image = firstRow + r;
      const base = r * stride + offset;
      const own = base + 5 * image;
      if (bound !== undefined) for (let k = 0; k < 5; k++) block[own + k] = bound.exact(r, 5 * image + k);
      const best = Math.max(block[own], block[own + 1], block[own + 2], block[own + 3], block[own + 4]);
      const rowScale = bound === undefined ? 0 : bound.rowScale[r];
      const bestBelow = best - rowScale * columnMargin;
      let above = 0;
      let tied = 0;
      let nan = false;
      for (let j = nextCandidate(block, base, below, bestBelow, 0, columns); j < columns; j = nextCandidate(block, base, below, bestBelow, j + 1, columns)) {
        let s = block[base + j];
        // The own five (j - 5·image in 0..4) are exact already.
        if (bound !== undefined && (j - 5 * image) >>> 0 >= 5) {
          const tolerance = rowScale * bound.columnScale[j];
          const fromTruth = s - groundTruth[j];
          const fromBest = s - best;
          // NaN fails every comparison, so it is recomputed too (and then reported if still NaN).
          if (!(fromTruth > tolerance || fromTruth < -tolerance) || !(fromBest > tolerance || fromBest < -tolerance)) {
            s = bound.exact(r, j);
            block[base + j] = s;
          }
        }
        if (s > best) above++;
        else if (s === best) tied++;
        if (s > groundTruth[j]) t2i[j]++;
        else if (s === groundTruth[j]) t2iTies[j]++;
        if (s !== s) nan = true;
      }
      if (nan) throw new Error(`similarity row of image ${image} contains NaN`);
      // The own five were counted as ties of themselves (every own score is a candidate: it is its column's
      // ground truth); they are positives, never against the query.
      for (let k = 0; k < 5; k++) {
        if (block[own + k] === best) tied--;
        if (block[own + k] === groundTruth[5 * image + k]) t2iTies[5 * image + k]--;
      }
      i2t[image] = above;
      i2tTies[image] = tied;
      this.seen[image] = 1;
    }
    this.rowsSeen += count;
  }

  /** The ranks under the accumulator's tie policy, once every row was added: i2t `[N]` and t2i `[5N]`, 0-based. */
  finish(): { i2t: Int32Array; t2i: Int32Array } {
    if (this.rowsSeen !== this.images) {
      throw new Error(`${this.images - this.rowsSeen} of ${this.images} image rows were never added (first: ${this.seen.indexOf(0)})`);
    }
    if (this.ties === 'optimistic') return { i2t: this.i2t, t2i: this.t2i };
    return { i2t: this.i2t.map((r, q) => r + this.i2tTies[q]), t2i: this.t2i.map((r, q) => r + this.t2iTies[q]) };
  }
}

/**
 * The first column j in `from .. end-1` whose score `block[base + j]` is not below both `below[j]` and `bestBelow`
 * (NaN included), or `end`. The common case of the rank counting, in a loop of its own: V8 compiles this to about
 * 1 ns an entry, several times faster than the same test inside the loop that also counts.
 */
function nextCandidate(block: Float32Array, base: number, below: Float64Array, bestBelow: number, from: number, end: number): number {
  for (let j = from; j < end; j++) {
    const s = block[base + j];
    if (!(s < below[j] && s < bestBelow)) return j;
  }
  return end;
}

/** `sims[floor(j/5), j]` for every caption j of an in-memory `[N, 5N]` matrix; returns `[5N]`. */
export function groundTruthOf(sims: Float32Array, images: number): Float32Array {
  checkSquare(sims, images);
  const columns = 5 * images;
  return Float32Array.from({ length: columns }, (_, j) => sims[Math.floor(j / 5) * columns + j]);
}

/** Both rank lists of an in-memory `[N, 5N]` similarity matrix. */
export function retrievalRanks(sims: Float32Array, images: number, ties: TiePolicy = 'optimistic'): { i2t: Int32Array; t2i: Int32Array } {
  const ranks = new RankAccumulator(images, groundTruthOf(sims, images), ties);
  ranks.addRows(0, images, sims);
  return ranks.finish();
}

/** i2t ranks of `sims` `[N, 5N]`: `[N]`, 0-based, ties in the query's favour unless `ties` says otherwise. */
export function i2tRanks(sims: Float32Array, images: number, ties: TiePolicy = 'optimistic'): Int32Array {
  return retrievalRanks(sims, images, ties).i2t;
}

/** t2i ranks of `sims` `[N, 5N]`: `[5N]`, 0-based, ties in the query's favour unless `ties` says otherwise. */
export function t2iRanks(sims: Float32Array, images: number, ties: TiePolicy = 'optimistic'): Int32Array {
  return retrievalRanks(sims, images, ties).t2i;
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

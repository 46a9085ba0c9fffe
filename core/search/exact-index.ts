import { checkQuery, type SearchHit, type VectorIndex } from './vector-index';

/**
 * Exact search: every row's inner product with the query, the top k kept in a sorted buffer. O(N·D) a query —
 * below a few thousand rows as fast as any graph, and the ground truth an approximate index is measured against.
 */
export class ExactIndex implements VectorIndex {
  readonly kind = 'exact';
  readonly size: number;

  /** @param vectors `[N, D]` row-major */
  constructor(
    readonly vectors: Float32Array,
    readonly dim: number,
  ) {
    if (dim < 1 || vectors.length % dim !== 0) throw new RangeError(`ExactIndex: ${vectors.length} values are not rows of ${dim}`);
    this.size = vectors.length / dim;
  }

  search(query: Float32Array, k: number): SearchHit[] {
    checkQuery(this, query, k);
    const keep = Math.min(k, this.size);
    const rows = new Int32Array(keep);
    const scores = new Float32Array(keep).fill(-Infinity);
    const { vectors, dim } = this;
    for (let row = 0; row < this.size; row++) {
      let score = 0;
      for (let d = 0, at = row * dim; d < dim; d++, at++) score += vectors[at] * query[d];
      if (score <= scores[keep - 1]) continue;
      // Insertion into the sorted buffer; ties keep the lower row first.
      let slot = keep - 1;
      while (slot > 0 && scores[slot - 1] < score) {
        scores[slot] = scores[slot - 1];
        rows[slot] = rows[slot - 1];
        slot--;
      }
      scores[slot] = score;
      rows[slot] = row;
    }
    return Array.from(rows, (row, i) => ({ row, score: scores[i] }));
  }
}

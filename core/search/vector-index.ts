/**
 * Nearest-neighbour search over unit-norm embeddings by inner product (= cosine similarity), the retrieval score of
 * every shnet model. Two implementations behind one interface: {@link ExactIndex} (every row scored) and
 * `AnnIndex` (an HNSW graph, approximate, for large corpora); `index-store.ts` picks one by size and keeps it
 * beside the run.
 */

/** One result: the row of the indexed matrix and its inner product with the query. */
export interface SearchHit {
  readonly row: number;
  readonly score: number;
}

export interface VectorIndex {
  /** `exact` or `ann`. */
  readonly kind: 'exact' | 'ann';
  /** Rows indexed. */
  readonly size: number;
  /** Embedding width D. */
  readonly dim: number;
  /** The `k` rows of highest inner product with `query` (`[D]`), best first; fewer when the index is smaller. */
  search(query: Float32Array, k: number): SearchHit[];
}

/** Checks a query's width against the index's, so a mismatch is a clear error rather than garbage scores. */
export function checkQuery(index: Pick<VectorIndex, 'dim'>, query: Float32Array, k: number): void {
  if (query.length !== index.dim) throw new RangeError(`query has ${query.length} values, the index holds ${index.dim}-d vectors`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
}

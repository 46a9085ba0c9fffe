import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Index, MetricKind, ScalarKind } from 'usearch';
import { checkQuery, type SearchHit, type VectorIndex } from './vector-index';

/**
 * HNSW graph parameters. The defaults give recall@10 ≥ 0.99 against exact search at 5K and 25K rows of 128-d
 * embeddings (`npm run bench`, section 8; docs/performance.md). The search breadth is what recall hinges on: on the
 * 25K captions of the demo run, ef = 64 gave 0.96 and ef = 256 gives 0.998, at about 0.15 ms a query.
 */
export interface AnnParameters {
  /** Graph degree M: links per node and layer. */
  readonly connectivity: number;
  /** Candidate list size while inserting (efConstruction). */
  readonly expansionAdd: number;
  /** Candidate list size while searching (ef). */
  readonly expansionSearch: number;
}

export const DEFAULT_ANN_PARAMETERS: AnnParameters = { connectivity: 16, expansionAdd: 128, expansionSearch: 256 };

/**
 * Approximate search with USearch's HNSW graph (inner-product metric, float32): logarithmic in N per query, built
 * once and saved as a file. USearch ships prebuilt N-API binaries in its npm package, so installing shnet compiles
 * nothing and downloads no Node headers.
 */
export class AnnIndex implements VectorIndex {
  readonly kind = 'ann';

  private constructor(
    private readonly index: Index,
    readonly dim: number,
    readonly parameters: AnnParameters,
  ) {}

  get size(): number {
    return this.index.size();
  }

  /** Builds the graph over `vectors` (`[N, D]` row-major); row r gets key r. `threads` 0 = every core. */
  static build(vectors: Float32Array, dim: number, parameters: AnnParameters = DEFAULT_ANN_PARAMETERS, threads = 0): AnnIndex {
    if (dim < 1 || vectors.length % dim !== 0) throw new RangeError(`AnnIndex: ${vectors.length} values are not rows of ${dim}`);
    const index = AnnIndex.empty(dim, parameters);
    const n = vectors.length / dim;
    if (n > 0)
      index.add(
        BigUint64Array.from({ length: n }, (_, r) => BigInt(r)),
        vectors,
        threads,
      );
    return new AnnIndex(index, dim, parameters);
  }

  /** Loads a graph written by {@link save}; `dim` and `parameters` must be those it was built with. */
  static load(path: string, dim: number, parameters: AnnParameters = DEFAULT_ANN_PARAMETERS): AnnIndex {
    const index = AnnIndex.empty(dim, parameters);
    index.load(path);
    if (index.dimensions() !== dim) throw new RangeError(`${path}: the index holds ${index.dimensions()}-d vectors, expected ${dim}`);
    return new AnnIndex(index, dim, parameters);
  }

  /** Writes the graph to `path` atomically (a temporary file beside it, then a rename). */
  save(path: string): void {
    const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    try {
      this.index.save(temporary);
      renameSync(temporary, path);
    } finally {
      rmSync(temporary, { force: true });
    }
  }

  search(query: Float32Array, k: number): SearchHit[] {
    checkQuery(this, query, k);
    const { keys, distances } = this.index.search(query, Math.min(k, this.size), 1);
    const hits: SearchHit[] = [];
    // The inner-product metric's distance is 1 − q·v; unfilled slots (fewer rows than k) carry the maximal key.
    keys.forEach((key, i) => {
      if (key < BigInt(this.size)) hits.push({ row: Number(key), score: 1 - distances[i] });
    });
    return hits;
  }

  private static empty(dim: number, p: AnnParameters): Index {
    return new Index({
      dimensions: dim,
      metric: MetricKind.IP,
      quantization: ScalarKind.F32,
      connectivity: p.connectivity,
      expansion_add: p.expansionAdd,
      expansion_search: p.expansionSearch,
      multi: false,
    });
  }
}

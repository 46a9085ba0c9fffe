import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../atomic-write';
import { NpyReader, writeNpy } from '../io/npy/npy';
import { AnnIndex, DEFAULT_ANN_PARAMETERS, type AnnParameters } from './ann-index';
import { ExactIndex } from './exact-index';
import type { VectorIndex } from './vector-index';

/**
 * Where a stored index lives: `<base>.json` (what it was built from), `<base>.npy` (the vectors, `[N, D]` float32)
 * and, for an approximate index, `<base>.usearch` (the graph).
 */
export interface IndexFiles {
  readonly meta: string;
  readonly vectors: string;
  readonly graph: string;
}

export function indexFiles(base: string): IndexFiles {
  return { meta: `${base}.json`, vectors: `${base}.npy`, graph: `${base}.usearch` };
}

/** What is indexed: a fingerprint of everything the vectors depend on, and how to compute them when needed. */
export interface IndexSource {
  /** Changes whenever the vectors would (weights, recipe, data, split, side); a stored index with another is rebuilt. */
  readonly fingerprint: string;
  /** Rows that will be indexed (known before encoding: it decides exact or approximate). */
  readonly count: number;
  /** Encodes the vectors, `[count, D]` row-major. */
  encode(): Promise<{ readonly vectors: Float32Array; readonly dim: number }>;
}

export interface IndexOptions {
  /** Below this many rows the index is exact; at or above it, an HNSW graph. */
  readonly exactBelow: number;
  readonly parameters?: AnnParameters;
}

/** An opened index and how it was obtained. */
export interface OpenedIndex {
  readonly index: VectorIndex;
  /** `loaded` (files matched the fingerprint), `built` (vectors encoded now), `rebuilt` (stored vectors, new graph). */
  readonly origin: 'loaded' | 'built' | 'rebuilt';
  /** Seconds spent encoding and building (0 when loaded). */
  readonly buildSeconds: number;
  readonly files: IndexFiles;
}

interface StoredMeta {
  readonly fingerprint: string;
  readonly kind: 'exact' | 'ann';
  readonly size: number;
  readonly dim: number;
  readonly parameters: AnnParameters;
  readonly buildSeconds: number;
}

/**
 * Opens the index at `base`: the stored one when its fingerprint, size and kind match; otherwise it is built —
 * from the stored vectors when only the kind or graph parameters changed, else from {@link IndexSource.encode} —
 * and saved (each file written atomically, the metadata last, so a crash leaves an index that is rebuilt, never a
 * torn one).
 */
export async function openIndex(base: string, source: IndexSource, options: IndexOptions): Promise<OpenedIndex> {
  const files = indexFiles(base);
  const parameters = options.parameters ?? DEFAULT_ANN_PARAMETERS;
  const kind = source.count < options.exactBelow ? 'exact' : 'ann';
  const meta = readMeta(files.meta);
  const vectorsMatch = meta?.fingerprint === source.fingerprint && meta.size === source.count && existsSync(files.vectors);
  if (vectorsMatch && meta.kind === kind && (kind === 'exact' || (sameParameters(meta.parameters, parameters) && existsSync(files.graph)))) {
    const index = kind === 'exact' ? new ExactIndex(readVectors(files.vectors), meta.dim) : AnnIndex.load(files.graph, meta.dim, parameters);
    return { index, origin: 'loaded', buildSeconds: 0, files };
  }
  const started = performance.now();
  mkdirSync(dirname(base), { recursive: true });
  const { vectors, dim } = vectorsMatch ? { vectors: readVectors(files.vectors), dim: meta.dim } : await source.encode();
  if (vectors.length !== source.count * dim) throw new RangeError(`index source gave ${vectors.length / dim} rows, expected ${source.count}`);
  if (!vectorsMatch) writeNpy(files.vectors, vectors, [source.count, dim]);
  const index = kind === 'exact' ? new ExactIndex(vectors, dim) : AnnIndex.build(vectors, dim, parameters);
  if (index instanceof AnnIndex) index.save(files.graph);
  const buildSeconds = (performance.now() - started) / 1000;
  const stored: StoredMeta = { fingerprint: source.fingerprint, kind, size: source.count, dim, parameters, buildSeconds };
  writeFileAtomic(files.meta, `${JSON.stringify(stored, null, 2)}\n`);
  return { index, origin: vectorsMatch ? 'rebuilt' : 'built', buildSeconds, files };
}

function readMeta(path: string): StoredMeta | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StoredMeta;
  } catch {
    return null; // unreadable metadata: the index is rebuilt
  }
}

function readVectors(path: string): Float32Array {
  const reader = NpyReader.open(path);
  try {
    return reader.readAllSync();
  } finally {
    reader.close();
  }
}

function sameParameters(a: AnnParameters | undefined, b: AnnParameters): boolean {
  return a?.connectivity === b.connectivity && a.expansionAdd === b.expansionAdd && a.expansionSearch === b.expansionSearch;
}

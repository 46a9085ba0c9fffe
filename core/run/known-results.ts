import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

/**
 * `docs/results.json`: the data of docs/results.md, written with it by `npm run results` (docs/results.md says how),
 * so a figure quoted elsewhere is the one the regeneration measured, never a number typed into code.
 */
export interface ResultsFile {
  /** The commit the results were made on (`git describe --always --dirty`). */
  readonly commit: string;
  /** ISO date of the regeneration. */
  readonly made: string;
  readonly command: string;
  readonly backend: string;
  readonly studies: readonly ResultsStudy[];
}

/** One sweep of the results: a data set, a split and protocol, and a row per model (its seeds folded together). */
export interface ResultsStudy {
  readonly name: string;
  readonly sweep: string;
  readonly sweepId: string;
  /** The trials' resolved `data:` node, which a run must match for the study's figures to apply to it. */
  readonly data: unknown;
  readonly split: string;
  readonly protocol: string;
  readonly rows: readonly ResultsRow[];
}

export interface ResultsRow {
  readonly label: string;
  /** The row is the study's baseline (regions + GPO, no segmentation input). */
  readonly baseline: boolean;
  readonly seeds: readonly number[];
  /** Test rSum of each seed, in `seeds` order. */
  readonly rsum: readonly number[];
  readonly mean: number;
  /** Sample standard deviation over the seeds. */
  readonly std: number;
  /** Mean over the seeds of every test metric. */
  readonly metrics: Readonly<Record<string, number>>;
  /** The table's test metrics of each seed, in `seeds` order. */
  readonly perSeed?: ReadonlyArray<Readonly<Record<string, number>>>;
}

/** A known baseline figure for a run's data: the row, and where it was measured. */
export interface KnownBaseline {
  readonly label: string;
  readonly seeds: number;
  readonly mean: number;
  readonly std: number;
  readonly commit: string;
  readonly source: string;
}

/** Where the shipped results data lives: `docs/results.json` of this package (dist/core/run → the package root). */
export const RESULTS_FILE = join(__dirname, '..', '..', '..', 'docs', 'results.json');

/** The results data, or null when the package has none (installed without docs) or it cannot be read. */
export function readResultsFile(path = RESULTS_FILE): ResultsFile | null {
  if (!existsSync(path)) return null;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as ResultsFile;
    return Array.isArray(parsed.studies) ? parsed : null;
  } catch {
    return null;
  }
}

/**
 * The baseline's test rSum on exactly this data set, split and protocol, when the results hold one: figures from
 * other data (another size, another seed of the generator) do not apply and give null.
 */
export function knownBaseline(data: unknown, split: string, protocol: string, results = readResultsFile()): KnownBaseline | null {
  for (const study of results?.studies ?? []) {
    if (study.split !== split || study.protocol !== protocol || !isDeepStrictEqual(study.data, data)) continue;
    const row = study.rows.find((r) => r.baseline);
    if (row) return { label: row.label, seeds: row.seeds.length, mean: row.mean, std: row.std, commit: results!.commit, source: 'docs/results.md' };
  }
  return null;
}

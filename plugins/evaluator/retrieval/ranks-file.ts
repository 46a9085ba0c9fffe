/**
 * Per-query ranks written to a file, so a result can be checked against other code (docs/evaluation.md):
 * - `.npy`: int32 `[N, 6]`; row i is image i's i2t rank, then the t2i ranks of its captions 5i … 5i+4;
 * - `.json`: `{protocol, ties, folds, i2t: [N], t2i: [5N]}`.
 * Ranks are 0-based and, under a fold protocol, counted within each image's fold (`folds` lists
 * `[firstImage, images]` of each).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { type TiePolicy, UsageError, writeNpy } from 'shnet';

import type { Fold } from './protocols';

/** The ranks of every fold of one evaluation, in fold order. */
export interface FoldRanks {
  readonly fold: Fold;
  readonly i2t: Int32Array;
  readonly t2i: Int32Array;
}

/** Throws before any work when `path` has neither extension the writer knows. */
export function checkRanksPath(path: string): void {
  const ext = extname(path).toLowerCase();
  if (ext !== '.npy' && ext !== '.json') throw new UsageError(`ranks file ${path}: the name must end in .npy or .json`);
}

/** Writes the ranks of all folds to `path` (`.npy` or `.json`). */
export function writeRanksFile(path: string, protocol: string, ties: TiePolicy, ranks: readonly FoldRanks[]): void {
  checkRanksPath(path);
  const images = ranks.reduce((n, r) => n + r.fold.images, 0);
  mkdirSync(dirname(path), { recursive: true });
  if (extname(path).toLowerCase() === '.npy') {
    const table = new Int32Array(images * 6);
    for (const { fold, i2t, t2i } of ranks) {
      for (let i = 0; i < fold.images; i++) {
        const row = (fold.firstImage + i) * 6;
        table[row] = i2t[i];
        for (let k = 0; k < 5; k++) table[row + 1 + k] = t2i[5 * i + k];
      }
    }
    writeNpy(path, table, [images, 6]);
    return;
  }
  const json = {
    protocol,
    ties,
    folds: ranks.map((r) => [r.fold.firstImage, r.fold.images]),
    i2t: ranks.flatMap((r) => Array.from(r.i2t)),
    t2i: ranks.flatMap((r) => Array.from(r.t2i)),
  };
  writeFileSync(path, `${JSON.stringify(json)}\n`);
}

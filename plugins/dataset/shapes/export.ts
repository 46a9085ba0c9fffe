/**
 * Exporting `shapes` in the precomp layout of the reference code (docs/datasets.md), so a file-based data set (and the
 * reference implementation) can read it. Per split:
 *
 *   {split}_caps.txt            5 lines per image, in image order
 *   {split}_ids.txt             one image index per line (N lines ≠ 5N captions: readers infer 5 per image)
 *   {split}_ims.npy             [N, R, F] float32 region descriptors
 *   {split}_segmentations.npy   [N, C, 7, 7] float32 class-score grid
 *   {split}_seg_maps.npy        [N, 64, 64] uint8 class ids (the model reads them as floats)
 *   {split}_cat_onehots.npy     [N, C] float32 category multi-hot
 *
 * and `shapes.json` with the options, DataInfo and class names. Images are generated and written in chunks; each
 * file appears under its name only when its split is complete.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AtomicFile, NpyStreamWriter, UsageError, writeFileAtomic } from 'shnet';
import { GRID_SIZE, MAP_SIZE, SPLIT_NAMES, type SplitName, SplitGenerator, allocateRecords } from './generator';

import { type ShapesOptions, resolveShapesOptions } from './options';
import { shapesDataInfo } from './plugin';
import { CLASS_NAMES } from './vocabulary';

/** What one split's export wrote. */
export interface ExportedSplit {
  readonly split: string;
  readonly numImages: number;
  readonly files: readonly string[];
}

/** Images generated per chunk: bounds memory (≈ 5 MB of records at the defaults). */
const CHUNK = 256;

/**
 * Writes `splits` of the `shapes` data set with `options` (raw, defaults filled here) into `outDir`.
 * An unknown split name is a {@link UsageError}.
 */
export function exportPrecomp(options: Readonly<Record<string, unknown>>, outDir: string, splits: readonly string[] = SPLIT_NAMES): ExportedSplit[] {
  const resolved = resolveShapesOptions(options);
  const unknown = splits.filter((s) => !(SPLIT_NAMES as readonly string[]).includes(s));
  if (unknown.length > 0) {
    const names = unknown.map((s) => `'${s}'`).join(', ');
    throw new UsageError(`dataset 'shapes' has no split ${names} (splits: ${SPLIT_NAMES.join(', ')})`);
  }
  mkdirSync(outDir, { recursive: true });
  const info = { dataset: 'shapes', options: resolved, info: shapesDataInfo(resolved), classes: CLASS_NAMES };
  writeAtomically(join(outDir, 'shapes.json'), `${JSON.stringify(info, null, 2)}\n`);
  return splits.map((split) => exportSplit(resolved, outDir, split as SplitName));
}

function exportSplit(options: ShapesOptions, outDir: string, split: SplitName): ExportedSplit {
  const generator = new SplitGenerator(options, split);
  const n = generator.numImages;
  const { regions: r, featureDim: f, numClasses: c } = generator.layout;
  const file = (suffix: string) => join(outDir, `${split}_${suffix}`);
  const captions = AtomicFile.open(file('caps.txt'));
  const ids = AtomicFile.open(file('ids.txt'));
  const ims = NpyStreamWriter.create(file('ims.npy'), '<f4', [n, r, f]);
  const grids = NpyStreamWriter.create(file('segmentations.npy'), '<f4', [n, c, GRID_SIZE, GRID_SIZE]);
  const maps = NpyStreamWriter.create(file('seg_maps.npy'), '|u1', [n, MAP_SIZE, MAP_SIZE]);
  const cats = NpyStreamWriter.create(file('cat_onehots.npy'), '<f4', [n, c]);
  const arrays = [ims, grids, maps, cats];
  const texts = [captions, ids];
  try {
    const records = allocateRecords(generator.layout, Math.min(CHUNK, n));
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      for (let row = 0; row < count; row++) {
        generator.write(start + row, records, row);
        captions.write(
          Buffer.from(
            generator
              .captions(start + row)
              .map((line) => `${line}\n`)
              .join(''),
          ),
        );
        ids.write(Buffer.from(`${start + row}\n`));
      }
      ims.append(records.regions.subarray(0, count * r * f));
      grids.append(records.classGrid.subarray(0, count * c * GRID_SIZE * GRID_SIZE));
      maps.append(records.labelMap.subarray(0, count * MAP_SIZE * MAP_SIZE));
      cats.append(records.categories.subarray(0, count * c));
    }
    for (const writer of texts) writer.commit();
    for (const writer of arrays) writer.finish();
  } catch (error) {
    for (const writer of [...texts, ...arrays]) writer.abort();
    throw error;
  }
  return { split, numImages: n, files: [...texts, ...arrays].map((w) => w.path) };
}

function writeAtomically(path: string, text: string): void {
  writeFileAtomic(path, [Buffer.from(text)]);
}

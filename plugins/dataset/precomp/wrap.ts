/**
 * Wrapping arrays you already have — region features from your own detector, a CLIP embedding per image, captions —
 * into one split of the precomp layout, which the `precomp` data set reads (docs/datasets.md, "Your own arrays").
 * Every array is read row by row and checked against the others before the split appears under its name.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NpyReader, NpyStreamWriter, UsageError, writeFileAtomic } from 'shnet';

import { readLines } from './files';

/** What to wrap: features, and optionally captions and the three segmentation arrays. */
export interface WrapInputs {
  /** `.npy` region features `[N, R, F]`, or one vector per image `[N, F]` (wrapped as R = 1). */
  readonly features: string;
  /** Text file of 5N captions, five per image in image order; absent for an images-only split. */
  readonly captions?: string;
  /** Class-score grid `[N, C, g, g]`, label map `[N, m, m]` (class ids) and category multi-hot `[N, C]`: all or none. */
  readonly segmentations?: string;
  readonly segMaps?: string;
  readonly categories?: string;
}

/** What was written: the split's sizes, and the `data:` node that reads it. */
export interface WrappedSplit {
  readonly split: string;
  readonly numImages: number;
  readonly regions: number;
  readonly featureDim: number;
  readonly numClasses?: number;
  readonly captions: boolean;
  readonly dataNode: string;
}

/** Rows converted and written per step: bounds memory whatever N is. */
const ROWS_PER_STEP = 256;

/**
 * Writes split `split` of a precomp folder `out`: `{split}_ims.npy` (float32 `[N, R, F]`), `{split}_caps.txt` when
 * captions are given, and the segmentation arrays when given. Refuses a split that already exists in `out`, arrays
 * that disagree on N, a caption count other than 5N, and label maps that are not class ids 0–255.
 */
export function wrapArrays(out: string, split: string, inputs: WrapInputs): WrappedSplit {
  if (!/^[\w.-]+$/.test(split)) throw new UsageError(`--split '${split}': use letters, digits, '.', '_' and '-' only`);
  const segmentation = [inputs.segmentations, inputs.segMaps, inputs.categories];
  const given = segmentation.filter((p) => p !== undefined).length;
  if (given !== 0 && given !== 3) throw new UsageError('--segmentations, --seg-maps and --categories go together: give all three or none');
  const existing = ['caps.txt', 'ims.npy', 'segmentations.npy', 'seg_maps.npy', 'cat_onehots.npy'].map((s) => join(out, `${split}_${s}`)).filter(existsSync);
  if (existing.length > 0) throw new UsageError(`${existing[0]} exists: split '${split}' is already in ${out} (choose another --split or folder)`);

  const features = open(inputs.features, 'features');
  const n = features.rowCount;
  const [regions, featureDim] = features.rowShape.length === 1 ? [1, features.rowShape[0]] : features.rowShape;
  if (features.rowShape.length < 1 || features.rowShape.length > 2 || n === 0) {
    features.close();
    throw new UsageError(`${inputs.features}: features must be [N, R, F] or [N, F] with N > 0, got [${features.shape.join(', ')}]`);
  }
  const captions = inputs.captions === undefined ? undefined : readCaptions(inputs.captions, n);
  const readers = given === 3 ? segmentationReaders(inputs, n) : undefined;
  mkdirSync(out, { recursive: true });
  // A value found bad while copying (a label map of non-integers) leaves no part of the split behind.
  const written: string[] = [];
  const copy = (reader: NpyReader, suffix: string, shape: readonly number[], as: 'float32' | 'class-ids') => {
    copyRows(reader, join(out, `${split}_${suffix}`), shape, as);
    written.push(join(out, `${split}_${suffix}`));
  };
  try {
    copy(features, 'ims.npy', [n, regions, featureDim], 'float32');
    if (readers) {
      copy(readers.grid, 'segmentations.npy', readers.grid.shape, 'float32');
      copy(readers.map, 'seg_maps.npy', readers.map.shape, 'class-ids');
      copy(readers.categories, 'cat_onehots.npy', readers.categories.shape, 'float32');
    }
    // The captions file last: it is what makes the split a full one for the data set.
    if (captions) writeFileAtomic(join(out, `${split}_caps.txt`), [Buffer.from(`${captions.join('\n')}\n`)]);
  } catch (error) {
    for (const path of written) rmSync(path, { force: true });
    throw error;
  } finally {
    for (const reader of [features, readers?.grid, readers?.map, readers?.categories]) reader?.close();
  }
  const args = `root: ${out}${readers ? '' : ', segmentation: false'}`;
  return {
    split,
    numImages: n,
    regions,
    featureDim,
    numClasses: readers?.grid.shape[1],
    captions: captions !== undefined,
    dataNode: `{type: precomp, args: {${args}}}`,
  };
}

function open(path: string, what: string): NpyReader {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file (--${what})`);
  return NpyReader.open(path);
}

function readCaptions(path: string, images: number): string[] {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file (--captions)`);
  const lines = readLines(path);
  if (lines.length !== 5 * images) {
    throw new UsageError(`${path}: ${lines.length} captions for ${images} images; the precomp layout has five per image, in image order (${5 * images} lines)`);
  }
  const empty = lines.findIndex((line) => line.trim() === '');
  if (empty >= 0) throw new UsageError(`${path}:${empty + 1}: an empty caption`);
  return lines;
}

/** The three segmentation arrays, checked against N and against each other (C, square grids and maps). */
function segmentationReaders(inputs: WrapInputs, n: number): { grid: NpyReader; map: NpyReader; categories: NpyReader } {
  const readers: NpyReader[] = [];
  try {
    const grid = open(inputs.segmentations!, 'segmentations');
    readers.push(grid);
    const map = open(inputs.segMaps!, 'seg-maps');
    readers.push(map);
    const categories = open(inputs.categories!, 'categories');
    readers.push(categories);
    const shape = (reader: NpyReader) => `[${reader.shape.join(', ')}]`;
    if (grid.shape.length !== 4 || grid.shape[2] !== grid.shape[3])
      throw new UsageError(`${grid.path}: class-score grid must be [N, C, g, g], got ${shape(grid)}`);
    if (map.shape.length !== 3 || map.shape[1] !== map.shape[2]) throw new UsageError(`${map.path}: label map must be [N, m, m], got ${shape(map)}`);
    const c = grid.shape[1];
    if (categories.shape.length !== 2 || categories.shape[1] !== c) {
      throw new UsageError(`${categories.path}: category multi-hot must be [N, ${c}] (C from the grid), got ${shape(categories)}`);
    }
    for (const reader of readers) {
      if (reader.rowCount !== n) throw new UsageError(`${reader.path}: ${reader.rowCount} images, the features have ${n}`);
    }
    return { grid, map, categories };
  } catch (error) {
    for (const reader of readers) reader.close();
    throw error;
  }
}

/** Streams `reader`'s rows into a new `.npy` of `shape`: float32, or class ids as uint8 (checked 0–255 integers). */
function copyRows(reader: NpyReader, path: string, shape: readonly number[], as: 'float32' | 'class-ids'): void {
  const writer = NpyStreamWriter.create(path, as === 'float32' ? '<f4' : '|u1', shape);
  try {
    for (let start = 0; start < reader.rowCount; start += ROWS_PER_STEP) {
      const rows = Array.from({ length: Math.min(ROWS_PER_STEP, reader.rowCount - start) }, (_, i) => start + i);
      const values = reader.readRowsSync(rows);
      if (as === 'float32') {
        const bad = values.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) throw new UsageError(`${reader.path}: row ${start + Math.floor(bad / reader.rowLength)} holds ${values[bad]}`);
        writer.append(values);
      } else {
        const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0 || v > 255);
        if (bad >= 0) throw new UsageError(`${reader.path}: row ${start + Math.floor(bad / reader.rowLength)} holds ${values[bad]}, not a class id 0–255`);
        writer.append(Uint8Array.from(values));
      }
    }
    writer.finish();
  } catch (error) {
    writer.abort();
    throw error;
  }
}

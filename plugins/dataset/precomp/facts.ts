import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type DataFacts, readNpyHeader, UsageError } from 'shnet';

import { countLines, readLines, splitFiles, splitNames } from './files';

/** Shapes every split of a data set must agree on. */
export interface PrecompShapes {
  readonly regions: number;
  readonly featureDim: number;
  readonly numClasses: number;
  readonly gridSize: number;
  readonly mapSize: number;
}

/** What the headers of one split say: its image count and the shapes its rows have. */
export interface SplitHeaders {
  readonly split: string;
  readonly images: number;
  readonly shapes: PrecompShapes;
}

/** The options the reading needs (the plugin's args). */
export interface PrecompLocation {
  readonly root: string;
  readonly featureDir?: string;
  readonly segmentation: boolean;
}

/**
 * The headers of one split, checked against each other (image counts of every array, square grids and maps, the
 * class count of the grid and the categories) and against the file sizes, without reading a row. Every mismatch is
 * a {@link UsageError} naming the file.
 */
export function readSplitHeaders(location: PrecompLocation, split: string): SplitHeaders {
  const files = splitFiles(location.root, split, location.featureDir);
  let images: number;
  let features: readonly number[];
  if (files.features) {
    const shape = readNpyHeader(files.features).shape;
    if (shape.length !== 3) throw new UsageError(`${files.features}: region features must be [N, R, F], got [${shape.join(', ')}]`);
    [images, ...features] = shape;
  } else {
    const ids = readLines(files.perImage!.ids);
    if (ids.length === 0) throw new UsageError(`${files.perImage!.ids}: no ids`);
    const first = join(files.perImage!.dir, `${ids[0]}.npy`);
    features = readNpyHeader(first).shape;
    if (features.length !== 2) throw new UsageError(`${first}: region features must be [R, F] per image, got [${features.join(', ')}]`);
    // One id per image, or one per caption (the reference's COCO lists; every fifth is the image's); an images-only
    // split (no captions) has one per image.
    images = files.captions === undefined ? ids.length : Math.floor(countLines(files.captions) / 5);
    if (ids.length !== images && ids.length !== 5 * images) {
      throw new UsageError(`${files.perImage!.ids}: ${ids.length} ids, expected ${images} (one per image) or ${5 * images} (one per caption)`);
    }
  }
  if (!location.segmentation) {
    return { split, images, shapes: { regions: features[0], featureDim: features[1], numClasses: 0, gridSize: 7, mapSize: 64 } };
  }
  const grid = readNpyHeader(files.classGrid).shape;
  const map = readNpyHeader(files.labelMap).shape;
  const categories = readNpyHeader(files.categories).shape;
  if (grid.length !== 4 || grid[2] !== grid[3]) throw new UsageError(`${files.classGrid}: expected [N, C, g, g], got [${grid.join(', ')}]`);
  if (map.length !== 3 || map[1] !== map[2]) throw new UsageError(`${files.labelMap}: expected [N, m, m], got [${map.join(', ')}]`);
  if (categories.length !== 2 || categories[1] !== grid[1]) {
    throw new UsageError(`${files.categories}: expected [N, ${grid[1]}] (the class count of ${files.classGrid}), got [${categories.join(', ')}]`);
  }
  if (files.features) {
    for (const [file, n] of [
      [files.classGrid, grid[0]],
      [files.labelMap, map[0]],
      [files.categories, categories[0]],
    ] as const) {
      if (n !== images) throw new UsageError(`${file}: ${n} images, but ${files.features} has ${images}`);
    }
  } else if (grid[0] !== images) {
    throw new UsageError(`${files.classGrid}: ${grid[0]} images, but ${files.captions ?? files.perImage!.ids} has ${images}`);
  }
  return { split, images, shapes: { regions: features[0], featureDim: features[1], numClasses: grid[1], gridSize: grid[2], mapSize: map[1] } };
}

/**
 * The headers of every split, and the shapes they all share; a split whose shapes differ from the first one's is a
 * {@link UsageError} naming both. Run when the data set is built, so corruption in the test split is found before
 * training, not after it.
 */
export function readAllHeaders(location: PrecompLocation): { splits: SplitHeaders[]; shapes: PrecompShapes } {
  if (!existsSync(location.root)) throw new UsageError(`data root ${location.root} does not exist`);
  const names = splitNames(location.root);
  if (names.length === 0) throw new UsageError(`${location.root}: no {split}_caps.txt or {split}_ims.npy files, so no splits`);
  const splits = names.map((name) => readSplitHeaders(location, name));
  const [first] = splits;
  for (const other of splits.slice(1)) {
    for (const key of Object.keys(first.shapes) as (keyof PrecompShapes)[]) {
      if (other.shapes[key] !== first.shapes[key]) {
        throw new UsageError(
          `${location.root}: split '${other.split}' has ${key} ${other.shapes[key]}, split '${first.split}' has ${first.shapes[key]}: every split must agree`,
        );
      }
    }
  }
  return { splits, shapes: first.shapes };
}

/**
 * What a `precomp` data set holds, for validation: from the `.npy` headers of every split, no row read. Undefined
 * when the data root is not on this machine (a recipe validates without its data; the run finds it missing).
 */
export function precompFacts(location: PrecompLocation): DataFacts | undefined {
  if (!existsSync(location.root)) return undefined;
  const { splits, shapes } = readAllHeaders(location);
  return {
    info: { numClasses: shapes.numClasses, featureDim: shapes.featureDim, regionsPerImage: shapes.regions, mapSize: shapes.mapSize, gridSize: shapes.gridSize },
    segmentation: location.segmentation,
    splits: Object.fromEntries(splits.map((s) => [s.split, { images: s.images }])),
  };
}

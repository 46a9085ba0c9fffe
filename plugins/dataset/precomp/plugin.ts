import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DataInfo,
  type Dataset,
  type DatasetSplit,
  definePlugin,
  inject,
  injectable,
  PLUGIN_ARGS,
  readNpyHeader,
  type Static,
  Type,
  UsageError,
} from 'shnet';

import { precompConformance } from './conformance';
import { readLines, splitFiles, splitNames } from './files';
import { PrecompSplit, type PrecompShapes } from './split';

export const precompOptions = Type.Object(
  {
    root: Type.String({ minLength: 1, description: 'folder with {split}_caps.txt, {split}_ims.npy and the segmentation arrays' }),
    featureDir: Type.Optional(Type.String({ description: 'folder of <id>.npy region features (COCO layout), used when {split}_ims.npy is absent' })),
    segmentation: Type.Boolean({ default: true, description: 'read {split}_segmentations.npy, _seg_maps.npy and _cat_onehots.npy' }),
  },
  { additionalProperties: false },
);

/**
 * The reference's precomputed layout (docs/datasets.md): BUTD region features plus the three segmentation arrays.
 * Shapes are read from the `.npy` headers, checked across files and splits, and every mismatch names the file. A split
 * with features and no captions is images-only: it can be encoded (`shnet encode --images-only`), not trained or
 * evaluated on. `shnet data wrap` writes a split from arrays you have (docs/datasets.md).
 */
@injectable()
export class PrecompDataset implements Dataset {
  readonly info: DataInfo;
  readonly splits: readonly string[];
  private readonly shapes: PrecompShapes;

  constructor(@inject(PLUGIN_ARGS) private readonly args: Static<typeof precompOptions>) {
    if (!existsSync(args.root)) throw new UsageError(`data root ${args.root} does not exist`);
    this.splits = splitNames(args.root);
    if (this.splits.length === 0) throw new UsageError(`${args.root}: no {split}_caps.txt or {split}_ims.npy files, so no splits`);
    this.shapes = this.readShapes(this.splits[0]);
    this.info = {
      numClasses: this.shapes.numClasses,
      featureDim: this.shapes.featureDim,
      regionsPerImage: this.shapes.regions,
      mapSize: this.shapes.mapSize,
      gridSize: this.shapes.gridSize,
    };
  }

  async open(split: string): Promise<DatasetSplit> {
    if (!this.splits.includes(split)) throw new UsageError(`split '${split}' not in ${this.args.root} (splits: ${this.splits.join(', ')})`);
    return PrecompSplit.open(split, splitFiles(this.args.root, split, this.args.featureDir), this.shapes, this.args.segmentation);
  }

  /** Region count, feature width and segmentation sizes, from the headers of one split. */
  private readShapes(split: string): PrecompShapes {
    const files = splitFiles(this.args.root, split, this.args.featureDir);
    const features = files.features
      ? readNpyHeader(files.features).shape.slice(1)
      : readNpyHeader(join(files.perImage!.dir, `${readLines(files.perImage!.ids)[0]}.npy`)).shape;
    if (features.length !== 2)
      throw new UsageError(
        `${files.features ?? files.perImage!.dir}: region features must be [N, R, F] (or [R, F] per image), got rows of shape [${features.join(', ')}]`,
      );
    if (!this.args.segmentation) return { regions: features[0], featureDim: features[1], numClasses: 0, gridSize: 7, mapSize: 64 };
    const grid = readNpyHeader(files.classGrid).shape;
    const map = readNpyHeader(files.labelMap).shape;
    if (grid.length !== 4 || grid[2] !== grid[3]) throw new UsageError(`${files.classGrid}: expected [N, C, g, g], got [${grid.join(', ')}]`);
    if (map.length !== 3 || map[1] !== map[2]) throw new UsageError(`${files.labelMap}: expected [N, m, m], got [${map.join(', ')}]`);
    return { regions: features[0], featureDim: features[1], numClasses: grid[1], gridSize: grid[2], mapSize: map[1] };
  }
}

export const precompDataset = definePlugin({
  kind: 'dataset',
  name: 'precomp',
  doc: "the reference's precomputed layout: BUTD region features + segmentation arrays, read by positioned reads",
  version: '1.0.0',
  options: precompOptions,
  plugin: PrecompDataset,
  conformance: precompConformance,
});

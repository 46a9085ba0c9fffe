import { type DataInfo, type Dataset, type DatasetSplit, definePlugin, inject, injectable, PLUGIN_ARGS, type Static, Type, UsageError } from 'shnet';

import { precompConformance } from './conformance';
import { readCaptions } from './captions';
import { type PrecompShapes, precompFacts, readAllHeaders } from './facts';
import { splitFiles } from './files';
import { PrecompSplit } from './split';

export const precompOptions = Type.Object(
  {
    root: Type.String({ minLength: 1, description: 'folder with {split}_caps.txt, {split}_ims.npy and the segmentation arrays' }),
    featureDir: Type.Optional(Type.String({ description: 'folder of <id>.npy region features (COCO layout), used when {split}_ims.npy is absent' })),
    segmentation: Type.Boolean({ default: true, description: 'read {split}_segmentations.npy, _seg_maps.npy and _cat_onehots.npy' }),
  },
  { additionalProperties: false },
);

/**
 * The reference's precomputed layout (docs/datasets.md): BUTD region features plus the three segmentation arrays. When
 * the data set is built, every split is checked up front — the headers of all its arrays against each other, the
 * file sizes and the other splits, and its captions (UTF-8, no empty lines, five per image) — so a broken test
 * split stops the run before training, not after it. Rows are read on demand and checked as they are read. A split
 * with features and no captions is images-only: it can be encoded (`shnet encode --images-only`), not trained or
 * evaluated on. `shnet data wrap` writes a split from arrays you have (docs/datasets.md).
 */
@injectable()
export class PrecompDataset implements Dataset {
  readonly info: DataInfo;
  readonly splits: readonly string[];
  private readonly shapes: PrecompShapes;

  constructor(@inject(PLUGIN_ARGS) private readonly args: Static<typeof precompOptions>) {
    const { splits, shapes } = readAllHeaders(args);
    for (const { split, images } of splits) {
      const captionFile = splitFiles(args.root, split, args.featureDir).captions;
      if (captionFile === undefined) continue; // images-only
      const captions = readCaptions(captionFile).length;
      if (captions !== 5 * images) throw new UsageError(`${captionFile}: ${captions} captions, but split '${split}' has ${images} images (5 each)`);
    }
    this.splits = splits.map((s) => s.split);
    this.shapes = shapes;
    this.info = {
      numClasses: shapes.numClasses,
      featureDim: shapes.featureDim,
      regionsPerImage: shapes.regions,
      mapSize: shapes.mapSize,
      gridSize: shapes.gridSize,
    };
  }

  async open(split: string): Promise<DatasetSplit> {
    if (!this.splits.includes(split)) throw new UsageError(`split '${split}' not in ${this.args.root} (splits: ${this.splits.join(', ')})`);
    return PrecompSplit.open(split, splitFiles(this.args.root, split, this.args.featureDir), this.shapes, this.args.segmentation);
  }
}

export const precompDataset = definePlugin({
  kind: 'dataset',
  name: 'precomp',
  doc: "the reference's precomputed layout: BUTD region features + segmentation arrays, read by positioned reads",
  version: '1.0.0',
  options: precompOptions,
  plugin: PrecompDataset,
  dataFacts: (args) => precompFacts(args as Static<typeof precompOptions>),
  conformance: precompConformance,
});

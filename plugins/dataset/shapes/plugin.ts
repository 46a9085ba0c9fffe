/**
 * The `shapes` data set: small synthetic scenes of coloured shapes with relational captions and exact segmentation
 * inputs, generated in memory from a seed. It is what `shnet run` trains on when no real data set is at hand.
 */
import { type DataInfo, type Dataset, definePlugin, inject, injectable, PLUGIN_ARGS, UsageError, type NodeCheck, type DataFactsReader } from 'shnet';

import { GRID_SIZE, MAP_SIZE, SPLIT_NAMES, SPLIT_SIZES, type SplitName, SplitGenerator } from './generator';
import { type ShapesOptions, checkShapesOptions, shapesOptions } from './options';
import { ShapesSplit } from './split';
import { NUM_CLASSES } from './vocabulary';

/** The facts a model built on `shapes` with these options must agree with. */
export function shapesDataInfo(options: ShapesOptions): DataInfo {
  return {
    numClasses: NUM_CLASSES,
    featureDim: options.featureDim,
    regionsPerImage: options.regionsPerImage,
    imageSize: options.imageSize,
    mapSize: MAP_SIZE,
    gridSize: GRID_SIZE,
  };
}

@injectable()
export class ShapesDataset implements Dataset {
  readonly info: DataInfo;
  readonly splits: readonly string[] = SPLIT_NAMES;
  private readonly opened = new Map<SplitName, ShapesSplit>();

  constructor(@inject(PLUGIN_ARGS) private readonly args: ShapesOptions) {
    checkShapesOptions(args);
    this.info = shapesDataInfo(args);
  }

  /** The split, generated lazily and kept in memory; opening it again returns the same object. */
  async open(split: string): Promise<ShapesSplit> {
    if (!(SPLIT_NAMES as readonly string[]).includes(split)) {
      throw new UsageError(`dataset 'shapes' has no split '${split}' (splits: ${SPLIT_NAMES.join(', ')})`);
    }
    const name = split as SplitName;
    let opened = this.opened.get(name);
    if (!opened) {
      opened = new ShapesSplit(new SplitGenerator(this.args, name));
      this.opened.set(name, opened);
    }
    return opened;
  }
}

/** What the data set holds, from its options alone: everything is generated, so nothing needs reading. */
const shapesFacts: DataFactsReader = (args) => {
  const options = args as ShapesOptions;
  return {
    info: shapesDataInfo(options),
    segmentation: true,
    splits: Object.fromEntries(SPLIT_NAMES.map((split) => [split, { images: options[SPLIT_SIZES[split]] }])),
  };
};

/** Before anything is generated: the object-count range, and that R can hold every object. */
const checkShapes: NodeCheck = ({ node, path }) => {
  try {
    checkShapesOptions(node.args as ShapesOptions, path);
    return [];
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return [{ path: `${path}.args`, message: error.message.replace(`${path}: `, '') }];
  }
};

export const shapesDataset = definePlugin({
  kind: 'dataset',
  name: 'shapes',
  doc: 'Synthetic coloured-shape scenes with relational captions, hard-negative layouts and exact segmentation inputs',
  version: '1.0.0',
  options: shapesOptions,
  plugin: ShapesDataset,
  dataFacts: shapesFacts,
  check: checkShapes,
  // The default splits (4000/1000/1000 images) take seconds to generate; the conformance suite needs a handful.
  conformance: { args: { trainSize: 5, devSize: 5, testSize: 5 } },
});

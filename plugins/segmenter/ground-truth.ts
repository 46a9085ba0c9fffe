import {
  cellMeanPool,
  DATA_INFO,
  type DataInfo,
  definePlugin,
  type ForwardMode,
  type ImageInputs,
  inject,
  injectable,
  type NamedParameter,
  type Segmentation,
  type Segmenter,
  tf,
  Type,
  UsageError,
  type NodeCheck,
} from 'shnet';

export const groundTruthSegmenterOptions = Type.Object({}, { additionalProperties: false });

/**
 * The three segmentation inputs derived from the ground-truth label map alone (`ImageInputs.segmentation.labelMap`,
 * `[B, m, m]` class ids), as a perfect segmenter would give them:
 *
 * - class-score grid `[B, C, g, g]`: the fraction of each class's pixels in each cell of the g × g partition with
 *   bounds ⌊k·m/g⌋ ({@link cellMeanPool} of the one-hot map);
 * - label map `[B, m, m]`: the map itself;
 * - category multi-hot `[B, C]`: 1 for every class with at least one pixel.
 *
 * How it differs from `precomputed`, which passes the data set's three arrays through: only the label map is read,
 * so a data set that ships label maps but no class grid or categories (segmentation masks from annotations) can
 * feed 3SHNet, and the grid and categories are guaranteed consistent with the map. On `shapes` at the default
 * image size (64 = m) the result equals the data set's arrays exactly; at another size the data set pools its grid
 * from the full-resolution map while this pools the 64 × 64 nearest-neighbour map, so cell fractions differ slightly.
 */
@injectable()
export class GroundTruthSegmenter implements Segmenter {
  constructor(@inject(DATA_INFO) private readonly info: DataInfo) {}

  /** @returns classGrid `[B, C, g, g]`, labelMap `[B, m, m]` (a copy), categories `[B, C]` */
  segment(inputs: ImageInputs, _mode: ForwardMode): Segmentation {
    const labelMap = inputs.segmentation?.labelMap;
    if (labelMap == null) {
      throw new UsageError('segmenter "ground-truth" needs the data set\'s label map (ImageInputs.segmentation.labelMap), which this batch lacks');
    }
    const c = this.info.numClasses;
    return tf.tidy(() => {
      const oneHot = tf.oneHot(labelMap.toInt(), c).toFloat() as tf.Tensor4D;
      return {
        classGrid: cellMeanPool(oneHot, this.info.gridSize),
        labelMap: labelMap.clone(),
        categories: oneHot.max([1, 2]) as tf.Tensor2D,
      };
    });
  }

  parameters(): NamedParameter[] {
    return [];
  }

  dispose(): void {}
}

/** Before anything is built: the data set must supply the ground-truth label maps this segmenter reads. */
const checkGroundTruthSegmenter: NodeCheck = ({ path, data }) =>
  data && !data.segmentation
    ? [{ path: `${path}.type`, message: 'segmenter "ground-truth" reads the data set\'s label maps, and this data set supplies none' }]
    : [];

export const groundTruthSegmenterSpec = definePlugin({
  kind: 'segmenter',
  name: 'ground-truth',
  doc: "Class grid, label map and categories derived from the data set's ground-truth label map (a perfect segmenter).",
  version: '1.0.0',
  options: groundTruthSegmenterOptions,
  plugin: GroundTruthSegmenter,
  check: checkGroundTruthSegmenter,
});

import {
  type Backbone,
  DATA_INFO,
  type DataInfo,
  definePlugin,
  type ForwardMode,
  type ImageInputs,
  inject,
  injectable,
  type NamedParameter,
  PLUGIN_ARGS,
  type RegionFeatures,
  type Static,
  tf,
  Type,
  UsageError,
  type NodeCheck,
} from 'shnet';

export const precomputedBackboneOptions = Type.Object(
  {
    dropProbability: Type.Number({
      minimum: 0,
      maximum: 1,
      exclusiveMaximum: 1,
      default: 0.2,
      description: 'Training only: each valid region is dropped independently with this probability.',
    }),
  },
  { additionalProperties: false },
);

/**
 * Precomputed region features (BUTD 36×2048) passed through unchanged. In training it applies the reference's
 * region-dropout augmentation (`image[np.where(rand > 0.2)]`, docs/model.md): each valid region is kept when a uniform
 * draw from `mode.rng` exceeds p, the kept regions move to the front in their original order, and the batch is
 * re-padded with zeros to the longest kept length (the reference's collate pads to the batch maximum, so R shrinks).
 *
 * An image never loses every region: when all draws fall at or below p, the region with the highest draw stays.
 * The reference keeps none in that case, which with 36 BUTD regions happens with probability 0.2³⁶ (never); with
 * the few regions of small data sets it happens every few hundred images, and a model without segmentation tokens
 * would then pool an empty set (its embedding and gradients become NaN). Draws are the same either way.
 */
@injectable()
export class PrecomputedBackbone implements Backbone {
  readonly outputDim: number;

  constructor(
    @inject(PLUGIN_ARGS) private readonly args: Static<typeof precomputedBackboneOptions>,
    @inject(DATA_INFO) info: DataInfo,
  ) {
    if (info.featureDim == null) {
      throw new UsageError('backbone "precomputed" needs a data set with precomputed features (DataInfo.featureDim is unset)');
    }
    this.outputDim = info.featureDim;
  }

  /**
   * @returns features `[B, R', F]` (R' = R in evaluation, the longest kept length in training), zero past each length
   */
  extract(inputs: ImageInputs, mode: ForwardMode): RegionFeatures {
    const regions = inputs.regions;
    if (regions == null) throw new UsageError('backbone "precomputed" needs ImageInputs.regions, which this batch lacks');
    const [b, r, f] = regions.shape;
    const lengths = inputs.regionLengths ?? new Int32Array(b).fill(r);
    if (!mode.training || this.args.dropProbability === 0) {
      return { features: tf.clone(regions), lengths: Int32Array.from(lengths) };
    }
    const kept: number[][] = [];
    for (let i = 0; i < b; i++) {
      const rows: number[] = [];
      let best = { draw: -1, row: -1 };
      for (let j = 0; j < lengths[i]; j++) {
        const draw = mode.rng.next();
        if (draw > this.args.dropProbability) rows.push(i * r + j);
        if (draw > best.draw) best = { draw, row: i * r + j };
      }
      if (rows.length === 0 && best.row >= 0) rows.push(best.row);
      kept.push(rows);
    }
    const width = Math.max(1, ...kept.map((k) => k.length));
    const zeroRow = b * r;
    const index = new Int32Array(b * width).fill(zeroRow);
    kept.forEach((rows, i) => index.set(rows, i * width));
    const features = tf.tidy(() => {
      const table = tf.concat([regions.reshape([b * r, f]), tf.zeros([1, f])]);
      return tf.gather(table, tf.tensor1d(index, 'int32')).reshape([b, width, f]) as tf.Tensor3D;
    });
    return { features, lengths: Int32Array.from(kept, (k) => k.length) };
  }

  parameters(): NamedParameter[] {
    return [];
  }

  dispose(): void {}
}

/** Before anything is built: the data set must supply precomputed region features. */
const checkPrecomputedBackbone: NodeCheck = ({ path, data }) =>
  data && data.info.featureDim == null
    ? [{ path: `${path}.type`, message: 'backbone "precomputed" reads precomputed region features, and this data set supplies none' }]
    : [];

export const precomputedBackboneSpec = definePlugin({
  kind: 'backbone',
  name: 'precomputed',
  doc: 'Precomputed region features; region dropout (p 0.2) with compaction in training.',
  version: '1.0.0',
  options: precomputedBackboneOptions,
  plugin: PrecomputedBackbone,
  check: checkPrecomputedBackbone,
});

import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'inversify';
import * as tf from '../../core/backend/tf';
import type { Backbone, ImageInputs, RegionFeatures } from '../../core/contracts/image';
import type { ForwardMode, NamedParameter } from '../../core/contracts/module';
import type { DataInfo } from '../../core/contracts/services';
import { UsageError } from '../../core/errors';
import { definePlugin } from '../../core/registry/plugin-spec';
import { DATA_INFO, PLUGIN_ARGS } from '../../core/tokens';

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
 * region-dropout augmentation (`image[np.where(rand > 0.2)]`, spec §3): each valid region is kept when a uniform
 * draw from `mode.rng` exceeds p, the kept regions move to the front in their original order, and the batch is
 * re-padded with zeros to the longest kept length (the reference's collate pads to the batch maximum, so R shrinks).
 * An image may lose every region (length 0); the padded width is then at least 1.
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
      for (let j = 0; j < lengths[i]; j++) if (mode.rng.next() > this.args.dropProbability) rows.push(i * r + j);
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

export const precomputedBackboneSpec = definePlugin({
  kind: 'backbone',
  name: 'precomputed',
  doc: 'Precomputed region features; region dropout (p 0.2) with compaction in training.',
  version: '1.0.0',
  options: precomputedBackboneOptions,
  plugin: PrecomputedBackbone,
});

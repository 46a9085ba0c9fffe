import { type Aggregator, definePlugin, type ForwardMode, injectable, lengthMask, type NamedParameter, tf, Type } from 'shnet';

export const meanOptions = Type.Object({}, { additionalProperties: false });

/** Masked mean over the valid tokens (VSE∞'s average-pooling ablation). No weights. */
@injectable()
export class MeanAggregator implements Aggregator {
  /**
   * @param tokens `[B, N, D]`, valid tokens first
   * @param lengths `[B]` valid tokens per row (each ≥ 1)
   * @returns `[B, D]`
   */
  pool(tokens: tf.Tensor3D, lengths: Int32Array, _mode: ForwardMode): tf.Tensor2D {
    return tf.tidy(() => {
      const mask = lengthMask(lengths, tokens.shape[1]);
      const sum = tokens.mul(mask.expandDims(2)).sum(1);
      return sum.div(mask.sum(1, true).maximum(1)) as tf.Tensor2D;
    });
  }

  parameters(): NamedParameter[] {
    return [];
  }

  dispose(): void {}
}

export const meanAggregatorSpec = definePlugin({
  kind: 'aggregator',
  name: 'mean',
  doc: 'Masked mean over the valid tokens.',
  version: '1.0.0',
  options: meanOptions,
  plugin: MeanAggregator,
});

import { type Aggregator, definePlugin, type ForwardMode, injectable, lengthMask, type NamedParameter, tf, Type } from 'shnet';

export const maxOptions = Type.Object({}, { additionalProperties: false });

/** Masked per-dimension max over the valid tokens (VSE∞'s max-pooling ablation). No weights. */
@injectable()
export class MaxAggregator implements Aggregator {
  /**
   * @param tokens `[B, N, D]`, valid tokens first
   * @param lengths `[B]` valid tokens per row (each ≥ 1)
   * @returns `[B, D]`
   */
  pool(tokens: tf.Tensor3D, lengths: Int32Array, _mode: ForwardMode): tf.Tensor2D {
    return tf.tidy(() => {
      const valid = lengthMask(lengths, tokens.shape[1]).expandDims(2).cast('bool').tile([1, 1, tokens.shape[2]]);
      // Padded tokens can never win: they are replaced by -inf before the max.
      return tf.where(valid, tokens, tf.fill(tokens.shape, -Infinity)).max(1) as tf.Tensor2D;
    });
  }

  parameters(): NamedParameter[] {
    return [];
  }

  dispose(): void {}
}

export const maxAggregatorSpec = definePlugin({
  kind: 'aggregator',
  name: 'max',
  doc: 'Masked per-dimension max over the valid tokens.',
  version: '1.0.0',
  options: maxOptions,
  plugin: MaxAggregator,
});

import {
  type Aggregator,
  BiGru,
  Block,
  definePlugin,
  type ForwardMode,
  inject,
  injectable,
  lengthMask,
  Linear,
  maxLength,
  NODE_PATH,
  PLUGIN_ARGS,
  type Rng,
  RNG,
  sinusoidalEncoding,
  sortDescending,
  type Static,
  tf,
  Type,
} from 'shnet';

export const gpoOptions = Type.Object(
  {
    peDim: Type.Integer({ minimum: 2, multipleOf: 2, default: 32, description: 'Width of the sinusoidal position code.' }),
    hiddenDim: Type.Integer({ minimum: 1, default: 32, description: 'Hidden size of the BiGRU that scores positions.' }),
    temperature: Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'Softmax temperature of the weights.' }),
  },
  { additionalProperties: false },
);

/** Score given to padded positions before the softmax, and fill value of padded features before the sort. */
const PAD_VALUE = -10000;

/**
 * GPO, the Generalized Pooling Operator of VSE∞ (docs/model.md): for every feature dimension, sort the valid tokens in
 * descending order and take a weighted sum over the ranks. The weights depend on the sequence length n only:
 * a BiGRU over sinusoidal codes of positions 0..n−1 (directions averaged) → Linear(hidden→1, no bias) → padded
 * scores −10000 → softmax(score / 0.1).
 *
 * Weights are computed once per distinct length in the batch. In evaluation they are also cached per length, and
 * the cache is dropped as soon as any GPO weight has been reassigned (an optimizer step or a checkpoint load
 * replaces the variable's data).
 *
 * Parameters: `gru.*` ({@link BiGru}), `linear.weight`.
 */
@injectable()
export class GpoAggregator extends Block implements Aggregator {
  private readonly gru: BiGru;
  private readonly linear: Linear;
  private readonly cache = new Map<number, tf.Tensor1D>();
  private cacheKey: readonly object[] = [];

  constructor(
    @inject(PLUGIN_ARGS) private readonly args: Static<typeof gpoOptions>,
    @inject(RNG) rng: Rng,
    @inject(NODE_PATH) path: string,
  ) {
    super();
    const init = rng.fork(`init:${path}`);
    this.gru = this.addChild('gru', new BiGru(args.peDim, args.hiddenDim, init));
    this.linear = this.addChild('linear', new Linear(args.hiddenDim, 1, init, { bias: false }));
  }

  /**
   * @param tokens `[B, N, D]`, valid tokens first
   * @param lengths `[B]` valid tokens per row (each ≥ 1)
   * @returns `[B, D]`
   */
  pool(tokens: tf.Tensor3D, lengths: Int32Array, mode: ForwardMode): tf.Tensor2D {
    const width = maxLength(lengths);
    if (width < 1) throw new Error('GPO needs at least one valid token per row');
    return tf.tidy(() => {
      const weights = this.weightsFor(lengths, width, mode);
      const [b, , d] = tokens.shape;
      const x = tokens.slice([0, 0, 0], [b, width, d]);
      const mask = lengthMask(lengths, width);
      // x where valid, PAD_VALUE where padded: x·m + PAD·(1 − m) is exact for m ∈ {0, 1} and broadcasts the mask,
      // where tf.where needs it tiled to [B, n, D] (wasm's Tile kernel made that a tenth of a training step).
      const m = mask.expandDims(2);
      const filled = x.mul(m).add(tf.scalar(1).sub(m).mul(PAD_VALUE));
      // Sort along the token axis per dimension: [B, D, n], descending.
      const sorted = sortDescending(filled.transpose([0, 2, 1]));
      const rankWeights = weights.mul(mask).expandDims(1); // padded ranks get 0, as masked_fill(…, 0)
      return sorted.mul(rankWeights).sum(2) as tf.Tensor2D;
    });
  }

  /** Releases every cached weight vector (also done by `dispose`). */
  clearCache(): void {
    this.cache.forEach((t) => t.dispose());
    this.cache.clear();
  }

  override dispose(): void {
    this.clearCache();
    super.dispose();
  }

  /**
   * Pool weights for every row. @returns `[B, width]`, zero past each row's length.
   */
  weightsOf(lengths: Int32Array, mode: ForwardMode): tf.Tensor2D {
    return this.weightsFor(lengths, maxLength(lengths), mode);
  }

  private weightsFor(lengths: Int32Array, width: number, mode: ForwardMode): tf.Tensor2D {
    const distinct = [...new Set(lengths)].sort((a, b) => a - b);
    if (mode.training) {
      this.clearCache();
      return tf.tidy(() => {
        const table = this.computeWeights(Int32Array.from(distinct), width);
        const row = Int32Array.from(lengths, (n) => distinct.indexOf(n));
        return tf.gather(table, tf.tensor1d(row, 'int32')) as tf.Tensor2D;
      });
    }
    this.validateCache();
    const missing = distinct.filter((n) => !this.cache.has(n));
    if (missing.length > 0) {
      const table = this.computeWeights(Int32Array.from(missing), maxLength(Int32Array.from(missing)));
      // Kept: cached vectors outlive any tidy scope the caller runs pool() in.
      missing.forEach((n, i) => this.cache.set(n, tf.keep(tf.tidy(() => table.slice([i, 0], [1, n]).reshape([n]) as tf.Tensor1D))));
      table.dispose();
    }
    return tf.tidy(
      () =>
        tf.stack(
          Array.from(lengths, (n) => {
            const w = this.cache.get(n) as tf.Tensor1D;
            return n === width ? w : w.pad([[0, width - n]]);
          }),
        ) as tf.Tensor2D,
    );
  }

  /**
   * The weight table for the given lengths. @returns `[U, width]` (row u for length lengths[u]), zero past it.
   */
  private computeWeights(lengths: Int32Array, width: number): tf.Tensor2D {
    return tf.tidy(() => {
      const u = lengths.length;
      const pe = tf.tensor2d(sinusoidalEncoding(width, this.args.peDim), [width, this.args.peDim]);
      const mask = lengthMask(lengths, width);
      const inputs = pe.expandDims(0).tile([u, 1, 1]).mul(mask.expandDims(2)) as tf.Tensor3D;
      const { forward, backward } = this.gru.run(inputs, lengths);
      const scores = this.linear.apply(forward.add(backward).div(2)).reshape([u, width]);
      const masked = tf.where(mask.cast('bool'), scores, tf.fill([u, width], PAD_VALUE));
      return tf.softmax(masked.div(this.args.temperature), 1) as tf.Tensor2D;
    });
  }

  /** Drops cached weights when a GPO variable's data was replaced since they were computed. */
  private validateCache(): void {
    const key = this.parameters().map((p) => (p.variable as unknown as { dataId: object }).dataId);
    if (key.length !== this.cacheKey.length || key.some((k, i) => k !== this.cacheKey[i])) {
      this.clearCache();
      this.cacheKey = key;
    }
  }
}

export const gpoAggregatorSpec = definePlugin({
  kind: 'aggregator',
  name: 'gpo',
  doc: 'GPO (VSE∞): per-dimension descending sort of the tokens, weighted by a BiGRU over position codes.',
  version: '1.0.0',
  options: gpoOptions,
  plugin: GpoAggregator,
});

import { Block, dropout, Embedding, type ForwardMode, gelu, LayerNorm, Linear, mergeHeads, type Rng, scaledDotProductAttention, splitHeads, tf } from 'shnet';

import type { BertConfig } from './config';

/**
 * BERT's layers with Hugging Face's module names, so `parameters()` lists exactly the `state_dict` keys of
 * `BertModel` (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`, …).
 *
 * Layouts: every `Linear` stores its weight as [in, out] (PyTorch keeps [out, in]; `torchLayouts()` records the
 * transpose, which the weight loader inverts). Embedding tables and LayerNorm vectors have PyTorch's layout.
 *
 * Initialisation (a model built without pretrained weights) is BERT's `_init_weights`: Linear and Embedding weights
 * N(0, initStd²), biases 0, LayerNorm 1 / 0, the `[PAD]` row of the word table 0. An initStd of 0 builds zeros
 * without drawing, for models whose weights are loaded next.
 */

/** Word + position + token-type embeddings → LayerNorm → dropout. */
export class BertEmbeddings extends Block {
  readonly words: Embedding;
  readonly positions: Embedding;
  readonly tokenTypes: Embedding;
  readonly norm: LayerNorm;

  constructor(
    private readonly config: BertConfig,
    rng: Rng,
    initStd: number,
  ) {
    super();
    const h = config.hiddenSize;
    this.words = this.addChild('word_embeddings', new Embedding(config.vocabSize, h, rng, { normal: initStd, paddingIdx: config.padTokenId }));
    this.positions = this.addChild('position_embeddings', new Embedding(config.maxPositionEmbeddings, h, rng, { normal: initStd }));
    this.tokenTypes = this.addChild('token_type_embeddings', new Embedding(config.typeVocabSize, h, rng, { normal: initStd }));
    this.norm = this.addChild('LayerNorm', new LayerNorm(h, config.layerNormEps));
  }

  /**
   * Positions are 0..T−1 and every token has type 0 (one segment: a caption).
   * @param ids `[B, T]` int32
   * @returns `[B, T, H]`
   */
  apply(ids: tf.Tensor2D, mode: ForwardMode): tf.Tensor3D {
    return tf.tidy(() => {
      const [, t] = ids.shape;
      if (t > this.config.maxPositionEmbeddings) {
        throw new RangeError(`BERT takes at most ${this.config.maxPositionEmbeddings} tokens, got ${t}`);
      }
      const h = this.config.hiddenSize;
      // Slices rather than gathers: same values, and their gradients need no segment sum.
      const positions = this.positions.weight.slice([0, 0], [t, h]);
      const tokenType = this.tokenTypes.weight.slice([0, 0], [1, h]);
      const sum = this.words.apply(ids).add(tokenType).add(positions) as tf.Tensor3D;
      return dropout(this.norm.apply(sum), this.config.hiddenDropoutProb, mode);
    });
  }
}

/** One transformer layer: self-attention → dense + residual + LN → GELU intermediate → dense + residual + LN. */
export class BertLayer extends Block {
  private readonly query: Linear;
  private readonly key: Linear;
  private readonly value: Linear;
  private readonly attentionOutput: Linear;
  private readonly attentionNorm: LayerNorm;
  private readonly intermediate: Linear;
  private readonly output: Linear;
  private readonly outputNorm: LayerNorm;

  constructor(
    private readonly config: BertConfig,
    rng: Rng,
    initStd: number,
  ) {
    super();
    const h = config.hiddenSize;
    const linear = (inDim: number, outDim: number) => new Linear(inDim, outDim, rng, { init: { normal: initStd } });
    this.query = this.addChild('attention.self.query', linear(h, h));
    this.key = this.addChild('attention.self.key', linear(h, h));
    this.value = this.addChild('attention.self.value', linear(h, h));
    this.attentionOutput = this.addChild('attention.output.dense', linear(h, h));
    this.attentionNorm = this.addChild('attention.output.LayerNorm', new LayerNorm(h, config.layerNormEps));
    this.intermediate = this.addChild('intermediate.dense', linear(h, config.intermediateSize));
    this.output = this.addChild('output.dense', linear(config.intermediateSize, h));
    this.outputNorm = this.addChild('output.LayerNorm', new LayerNorm(h, config.layerNormEps));
  }

  /**
   * @param x `[B, T, H]`
   * @param keyBias `[B, 1, 1, T]`: 0 for real tokens, −10000 for padding (BERT's extended attention mask)
   * @returns `[B, T, H]`
   */
  apply(x: tf.Tensor3D, keyBias: tf.Tensor4D, mode: ForwardMode): tf.Tensor3D {
    return tf.tidy(() => {
      const { numAttentionHeads: heads, hiddenDropoutProb: p } = this.config;
      const context = mergeHeads(
        scaledDotProductAttention(
          splitHeads(this.query.apply(x), heads),
          splitHeads(this.key.apply(x), heads),
          splitHeads(this.value.apply(x), heads),
          keyBias,
          this.config.attentionProbsDropoutProb,
          mode,
        ),
      );
      const attended = this.attentionNorm.apply(dropout(this.attentionOutput.apply(context), p, mode).add(x)) as tf.Tensor3D;
      const expanded = gelu(this.intermediate.apply(attended));
      return this.outputNorm.apply(dropout(this.output.apply(expanded), p, mode).add(attended)) as tf.Tensor3D;
    });
  }
}

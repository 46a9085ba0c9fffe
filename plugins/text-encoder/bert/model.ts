import { Block, type ForwardMode, type Rng, tf } from 'shnet';

import type { BertConfig } from './config';
import { BertEmbeddings, BertLayer } from './layers';

/** Score added to padded keys before the softmax (BERT's extended attention mask). */
const MASKED_KEY_BIAS = -10000;

/**
 * Hugging Face's `BertModel` without its pooler: embeddings → `numHiddenLayers` × {@link BertLayer}, returning the
 * last hidden state of every token (`outputs[0]`, what VSE∞/3SHNet's `EncoderText` takes).
 *
 * The pooler (`pooler.dense`, tanh over `[CLS]`) is left out: 3SHNet never reads its output, so in the reference it
 * receives no gradient and AdamW skips it; the loader reports its weights as skipped by name. The reference's
 * parameter count includes it (bert-base-uncased: 109,482,240 with it, as `BertModel.num_parameters()` reports;
 * 108,891,648 without — see `bertParameterShapes`).
 *
 * Parameters: `embeddings.*`, `encoder.layer.<i>.*` (Hugging Face `state_dict` keys).
 */
export class BertModel extends Block {
  readonly embeddings: BertEmbeddings;
  readonly layers: readonly BertLayer[];

  /** @param initStd std of the normal init (`initializer_range`); 0 builds zeros for weights loaded next. */
  constructor(
    readonly config: BertConfig,
    rng: Rng,
    initStd: number,
  ) {
    super();
    this.embeddings = this.addChild('embeddings', new BertEmbeddings(config, rng, initStd));
    this.layers = Array.from({ length: config.numHiddenLayers }, (_, i) => this.addChild(`encoder.layer.${i}`, new BertLayer(config, rng, initStd)));
  }

  /**
   * @param ids `[B, T]` int32 token ids
   * @param mask `[B, T]` 1 for real tokens, 0 for padding
   * @returns last hidden states `[B, T, H]` (padded positions hold values that nothing downstream may read)
   */
  apply(ids: tf.Tensor2D, mask: tf.Tensor2D, mode: ForwardMode): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, t] = ids.shape;
      const keyBias = tf.scalar(1).sub(mask).mul(MASKED_KEY_BIAS).reshape([b, 1, 1, t]) as tf.Tensor4D;
      let hidden = this.embeddings.apply(ids, mode);
      for (const layer of this.layers) hidden = layer.apply(hidden, keyBias, mode);
      return hidden;
    });
  }
}

import {
  type Aggregator,
  Block,
  definePlugin,
  type ForwardMode,
  inject,
  injectable,
  l2Normalize,
  Linear,
  type NamedParameter,
  NODE_PATH,
  PLUGIN_ARGS,
  PLUGIN_PARTS,
  type Rng,
  RNG,
  type Static,
  type TextEncoder,
  tf,
  Type,
  UsageError,
} from 'shnet';

import { join, resolve } from 'node:path';

import { tokenBatch, type TokenBatch } from './captions';
import { bertConformance } from './conformance';
import { readBertConfig, type BertConfig } from './config';
import { BertModel } from './model';
import { loadBertWeights, type BertLoadReport } from './weights';
import { readWordPieceOptions, WordPieceTokenizer } from './wordpiece';

export const bertTextEncoderOptions = Type.Object(
  {
    modelDir: Type.String({
      minLength: 1,
      description: 'Folder with config.json and vocab.txt (Hugging Face layout), and model.safetensors when pretrained.',
    }),
    pretrained: Type.Boolean({ default: true, description: 'Load model.safetensors; false builds from config.json with BERT init N(0, initializer_range).' }),
    embedDim: Type.Integer({ minimum: 1, default: 1024, description: 'Joint embedding width D (Linear hidden→D on every token).' }),
    maxLength: Type.Optional(
      Type.Integer({
        minimum: 2,
        description: "Tokens per caption, [CLS] and [SEP] included; longer captions are cut. Default: the model's max_position_embeddings (512 for BERT-base).",
      }),
    ),
    augment: Type.Boolean({ default: true, description: 'Caption augmentation (mask / random token / delete per word) in training.' }),
    augmentProbability: Type.Number({ minimum: 0, maximum: 1, default: 0.2, description: 'Chance that a word is augmented.' }),
    freeze: Type.Boolean({ default: false, description: 'Keep BERT fixed (no gradients); only the projection and GPO train.' }),
    hiddenDropout: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1, description: "Overrides config.json's hidden_dropout_prob." })),
    attentionDropout: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1, description: "Overrides config.json's attention_probs_dropout_prob." })),
  },
  { additionalProperties: false },
);

/** Optimizer group of the BERT weights: fine-tuned at a fraction of the base lr (0.1× in 3SHNet, docs/model.md). */
export const TEXT_BACKBONE_GROUP = 'text-backbone';

/**
 * 3SHNet's text encoder (`EncoderText`, docs/model.md): WordPiece → BERT (any BERT-family checkpoint in Hugging Face
 * layout) → Linear(hidden→D) on **every** token, `[CLS]` and `[SEP]` included → GPO over the caption length, which
 * counts `[CLS]`/`[SEP]` (slot `aggregator`, its own instance) → L2 norm (+1e-8).
 *
 * BERT dropout is active in training (masks from `mode.rng`); caption augmentation (see `captions.ts`) too.
 * BERT weights are in optimizer group `text-backbone`; the projection and GPO in the default group. With `freeze`,
 * BERT weights are not trainable at all.
 *
 * Parameters: `bert.*` (Hugging Face `BertModel` keys, pooler excluded), `linear.*`, `gpool.*` — the reference's
 * `txt_enc` `state_dict` names.
 */
@injectable()
export class BertTextEncoder extends Block implements TextEncoder {
  readonly embedDim: number;
  readonly config: BertConfig;
  readonly tokenizer: WordPieceTokenizer;
  /** What loading the checkpoint did (null when built with `pretrained: false`). */
  readonly loadReport: BertLoadReport | null = null;
  /** Tokens per caption, `[CLS]`/`[SEP]` included: `maxLength`, or every position the model has. */
  readonly maxLength: number;
  private readonly bert: BertModel;
  private readonly linear: Linear;

  constructor(
    @inject(PLUGIN_ARGS) private readonly args: Static<typeof bertTextEncoderOptions>,
    @inject(PLUGIN_PARTS) private readonly parts: { readonly aggregator: Aggregator },
    @inject(RNG) rng: Rng,
    @inject(NODE_PATH) private readonly path: string,
  ) {
    super();
    const dir = resolve(args.modelDir);
    const fileConfig = readBertConfig(join(dir, 'config.json'));
    this.config = {
      ...fileConfig,
      hiddenDropoutProb: args.hiddenDropout ?? fileConfig.hiddenDropoutProb,
      attentionProbsDropoutProb: args.attentionDropout ?? fileConfig.attentionProbsDropoutProb,
    };
    // The reference pads each batch to its longest caption and never cuts one; the model's position table is the
    // only limit there is, so that is the default (docs/model.md).
    this.maxLength = args.maxLength ?? this.config.maxPositionEmbeddings;
    if (this.maxLength > this.config.maxPositionEmbeddings) {
      throw new UsageError(`${path}: maxLength ${this.maxLength} exceeds max_position_embeddings ${this.config.maxPositionEmbeddings} of ${dir}`);
    }
    this.tokenizer = WordPieceTokenizer.fromVocabFile(join(dir, 'vocab.txt'), readWordPieceOptions(join(dir, 'tokenizer_config.json')));
    if (this.tokenizer.size > this.config.vocabSize) {
      throw new UsageError(`${path}: vocab.txt has ${this.tokenizer.size} tokens but config.json's vocab_size is ${this.config.vocabSize}`);
    }
    this.embedDim = args.embedDim;
    const init = rng.fork(`init:${path}`);
    // Pretrained weights overwrite the init, so build zeros then (no wasted draws for 110M weights).
    this.bert = this.addChild('bert', new BertModel(this.config, init.fork('bert'), args.pretrained ? 0 : this.config.initializerRange));
    this.linear = this.addChild('linear', new Linear(this.config.hiddenSize, args.embedDim, init.fork('linear')));
    this.addChild('gpool', parts.aggregator);
    try {
      if (args.pretrained) this.loadReport = loadBertWeights(this.bert, join(dir, 'model.safetensors'));
    } catch (error) {
      this.dispose();
      throw error;
    }
    if (args.freeze) for (const p of this.bert.parameters()) p.variable.trainable = false;
  }

  override parameters(): NamedParameter[] {
    return super.parameters().map((p) => (p.name.startsWith('bert.') ? { ...p, group: TEXT_BACKBONE_GROUP, trainable: p.trainable && !this.args.freeze } : p));
  }

  unknownWords(caption: string): string[] {
    return this.tokenizer.unknownWords(caption);
  }

  /** Token ids of a batch, augmented when `mode.training` and `augment` are set. */
  tokenize(captions: readonly string[], mode: ForwardMode): TokenBatch {
    const augment = mode.training && this.args.augment ? { rng: mode.rng, probability: this.args.augmentProbability } : undefined;
    return tokenBatch(this.tokenizer, captions, this.maxLength, augment);
  }

  /**
   * BERT's last hidden states (before the projection), e.g. for feature extraction or checks against a reference.
   * @returns `hidden` `[B, T, H]` and `lengths` `[B]` (valid tokens per caption, `[CLS]`/`[SEP]` included)
   */
  hiddenStates(captions: readonly string[], mode: ForwardMode): { hidden: tf.Tensor3D; lengths: Int32Array } {
    const batch = this.tokenize(captions, mode);
    const hidden = this.runBert(batch, mode);
    return { hidden, lengths: batch.lengths };
  }

  /** @returns L2-normalised caption embeddings `[B, D]` */
  encode(captions: readonly string[], mode: ForwardMode): tf.Tensor2D {
    if (captions.length === 0) throw new UsageError(`${this.path}: no captions to encode`);
    const batch = this.tokenize(captions, mode);
    return tf.tidy(() => {
      const tokens = this.linear.apply(this.runBert(batch, mode));
      return l2Normalize(this.parts.aggregator.pool(tokens, batch.lengths, mode));
    });
  }

  /** @returns `[B, T, H]` */
  private runBert(batch: TokenBatch, mode: ForwardMode): tf.Tensor3D {
    const b = batch.lengths.length;
    return tf.tidy(() => this.bert.apply(tf.tensor2d(batch.ids, [b, batch.width], 'int32'), tf.tensor2d(batch.mask, [b, batch.width]), mode));
  }
}

export const bertTextEncoderSpec = definePlugin({
  kind: 'text-encoder',
  name: 'bert',
  doc: "3SHNet's text encoder: WordPiece → BERT (Hugging Face checkpoint) → Linear on every token → GPO → L2 norm.",
  version: '1.0.0',
  options: bertTextEncoderOptions,
  slots: { aggregator: { kind: 'aggregator', doc: 'Pools the projected token states (GPO in 3SHNet).' } },
  plugin: BertTextEncoder,
  conformance: bertConformance,
});

import {
  type Aggregator,
  BiGru,
  Block,
  definePlugin,
  Embedding,
  type ForwardMode,
  inject,
  injectable,
  l2Normalize,
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

export const bigruTextEncoderOptions = Type.Object(
  {
    embedDim: Type.Integer({ minimum: 1, default: 1024, description: 'Joint embedding width D (the BiGRU hidden size).' }),
    wordDim: Type.Integer({ minimum: 1, default: 300, description: 'Width of the learned word embeddings.' }),
    minCount: Type.Integer({ minimum: 1, default: 4, description: 'Words seen fewer times in training captions map to <unk>.' }),
    augment: Type.Boolean({ default: true, description: 'Caption augmentation (mask / random word / delete) in training.' }),
    augmentProbability: Type.Number({ minimum: 0, maximum: 1, default: 0.2, description: 'Chance that a word is augmented.' }),
  },
  { additionalProperties: false },
);

/** Special tokens, in id order (VSE∞'s vocabulary starts with the same four, plus its `<mask>`). */
export const SPECIAL_TOKENS = ['<pad>', '<start>', '<end>', '<unk>', '<mask>'] as const;
const [PAD, START, END, UNK, MASK] = [0, 1, 2, 3, 4];

/** Serialised tokenizer: the id → word list (specials first). */
export interface BigruTokenizerState {
  readonly kind: 'word-vocabulary';
  readonly words: readonly string[];
}

/** Lower-cases and splits on anything that is not a letter or a digit. */
export function tokenizeWords(caption: string): string[] {
  return caption
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
}

/**
 * VSE∞'s BiGRU text encoder (its `bigru` branch), the TF.js-sized alternative to 3SHNet's BERT (docs/model.md):
 * word ids `<start> w… <end>` → Embedding(V, 300), init U(±0.1) → 1-layer BiGRU(300→D) with the two directions
 * averaged → GPO over the caption length (own instance, slot `aggregator`) → L2 norm (+1e-8).
 *
 * Training augmentation (docs/model.md on words, as VSE∞'s word-level `process_caption`): each word (not `<start>` /
 * `<end>`) is picked with probability 0.2; a picked word becomes `<mask>` (50 %), a uniformly random vocabulary id
 * (10 %) or is deleted (40 %). Draws come from `mode.rng`.
 *
 * The vocabulary is built in `prepare()` from the training captions (words seen ≥ minCount times, by decreasing
 * count, ties alphabetical); the embedding table exists from then on (or from `loadTokenizerState`).
 *
 * Parameters: `embed.weight` [V, wordDim], `rnn.*` ({@link BiGru}), `gpool.*` (the aggregator slot).
 */
@injectable()
export class BigruTextEncoder extends Block implements TextEncoder {
  readonly embedDim: number;
  private readonly rnn: BiGru;
  private readonly init: Rng;
  private embed: Embedding | null = null;
  private words: readonly string[] = [];
  private ids = new Map<string, number>();

  constructor(
    @inject(PLUGIN_ARGS) private readonly args: Static<typeof bigruTextEncoderOptions>,
    @inject(PLUGIN_PARTS) private readonly parts: { readonly aggregator: Aggregator },
    @inject(RNG) rng: Rng,
    @inject(NODE_PATH) private readonly path: string,
  ) {
    super();
    this.embedDim = args.embedDim;
    this.init = rng.fork(`init:${path}`);
    this.rnn = this.addChild('rnn', new BiGru(args.wordDim, args.embedDim, this.init));
    this.addChild('gpool', parts.aggregator);
  }

  prepare(trainingCaptions: readonly string[]): void {
    const counts = new Map<string, number>();
    for (const caption of trainingCaptions) for (const w of tokenizeWords(caption)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const kept = [...counts]
      .filter(([, n]) => n >= this.args.minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([w]) => w)
      .filter((w) => !(SPECIAL_TOKENS as readonly string[]).includes(w));
    this.setVocabulary([...SPECIAL_TOKENS, ...kept]);
  }

  tokenizerState(): BigruTokenizerState {
    return { kind: 'word-vocabulary', words: [...this.words] };
  }

  loadTokenizerState(state: unknown): void {
    const s = state as Partial<BigruTokenizerState> | null;
    if (s?.kind !== 'word-vocabulary' || !Array.isArray(s.words) || s.words.some((w) => typeof w !== 'string')) {
      throw new UsageError(`${this.path}: tokenizer state is not a word vocabulary`);
    }
    SPECIAL_TOKENS.forEach((t, i) => {
      if (s.words?.[i] !== t) throw new UsageError(`${this.path}: tokenizer state must start with ${SPECIAL_TOKENS.join(' ')}`);
    });
    this.setVocabulary(s.words);
  }

  /** Vocabulary size V (0 before `prepare` / `loadTokenizerState`). */
  get vocabularySize(): number {
    return this.words.length;
  }

  /** Words of `caption` outside the vocabulary, which {@link encodeIds} maps to `<unk>`. */
  unknownWords(caption: string): string[] {
    return tokenizeWords(caption).filter((w) => !this.ids.has(w));
  }

  /**
   * Word ids of a caption: `<start> w… <end>`, unknown words as `<unk>`, augmented when `augment` is given.
   */
  encodeIds(caption: string, augment?: Rng): number[] {
    const out = [START];
    for (const w of tokenizeWords(caption)) {
      const id = this.ids.get(w) ?? UNK;
      if (augment) {
        let p = augment.next();
        if (p < this.args.augmentProbability) {
          p /= this.args.augmentProbability;
          if (p < 0.5) out.push(MASK);
          else if (p < 0.6) out.push(augment.int(this.words.length));
          // else: deleted (the reference's comment says "keep", its code deletes)
          continue;
        }
      }
      out.push(id);
    }
    out.push(END);
    return out;
  }

  /** @returns L2-normalised caption embeddings `[B, D]` */
  encode(captions: readonly string[], mode: ForwardMode): tf.Tensor2D {
    const embed = this.embed;
    if (embed == null) throw new UsageError(`${this.path}: the vocabulary is empty; call prepare() or loadTokenizerState() first`);
    const augment = mode.training && this.args.augment ? mode.rng : undefined;
    const sequences = captions.map((c) => this.encodeIds(c, augment));
    const lengths = Int32Array.from(sequences, (s) => s.length);
    const t = Math.max(...lengths);
    const ids = new Int32Array(captions.length * t).fill(PAD);
    sequences.forEach((s, b) => ids.set(s, b * t));
    return tf.tidy(() => {
      const x = embed.apply(tf.tensor2d(ids, [captions.length, t], 'int32'));
      const { forward, backward } = this.rnn.run(x, lengths);
      const words = forward.add(backward).div(2) as tf.Tensor3D; // VSE∞ averages the two directions
      return l2Normalize(this.parts.aggregator.pool(words, lengths, mode));
    });
  }

  private setVocabulary(words: readonly string[]): void {
    const sameSize = this.embed != null && words.length === this.words.length;
    this.words = [...words];
    this.ids = new Map(this.words.map((w, i) => [w, i]));
    if (sameSize) return; // a restored vocabulary of the same size keeps the table (weights load separately)
    if (this.embed) throw new UsageError(`${this.path}: the vocabulary cannot change size once the embedding exists`);
    this.embed = this.addChild('embed', new Embedding(this.words.length, this.args.wordDim, this.init.fork('embed')));
  }
}

export const bigruTextEncoderSpec = definePlugin({
  kind: 'text-encoder',
  name: 'bigru',
  doc: 'VSE∞ BiGRU text encoder: word embeddings → BiGRU (directions averaged) → GPO → L2 norm.',
  version: '1.0.0',
  options: bigruTextEncoderOptions,
  slots: { aggregator: { kind: 'aggregator', doc: 'Pools the word states (GPO in VSE∞).' } },
  plugin: BigruTextEncoder,
});

import type { Rng } from 'shnet';
import type { WordPieceTokenizer } from './wordpiece';

/** Training-time caption augmentation settings (docs/model.md). */
export interface CaptionAugmentation {
  readonly rng: Rng;
  /** Chance that a word is augmented (0.2 in VSE∞ / 3SHNet). */
  readonly probability: number;
}

/** Padded token ids of a batch of captions. */
export interface TokenBatch {
  /** `[B, T]` row-major ids, padded with the `[PAD]` id. */
  readonly ids: Int32Array;
  /** `[B, T]` row-major attention mask: 1 where the id is not `[PAD]` (the reference's `x != 0`), else 0. */
  readonly mask: Float32Array;
  /** `[B]` tokens per caption, `[CLS]` and `[SEP]` included (what GPO pools over). */
  readonly lengths: Int32Array;
  /** T, the longest caption of the batch. */
  readonly width: number;
}

/**
 * Ids of one caption: `[CLS] pieces… [SEP]`, the pieces cut to `maxLength − 2` so the whole fits `maxLength`.
 *
 * With `augment` (training), VSE∞'s `process_caption` on the words of the basic tokenizer: each word is picked with
 * probability p; a picked word has **every** one of its sub-tokens replaced by `[MASK]` (½ of picks), every sub-token
 * replaced by an independent uniformly random vocabulary id (1/10 — any id, specials included, as
 * `random.choice(vocab)`), or the whole word deleted (the remaining 2/5; the reference's comment says "keep", its
 * code deletes). One uniform draw per word decides, then one draw per random sub-token. Augmentation happens before
 * truncation, as in the reference, which tokenizes the augmented caption whole.
 */
export function captionIds(tokenizer: WordPieceTokenizer, caption: string, maxLength: number, augment?: CaptionAugmentation): number[] {
  const pieces: number[] = [];
  for (const word of tokenizer.words(caption)) {
    if (augment) {
      let u = augment.rng.next();
      if (u < augment.probability) {
        u /= augment.probability;
        if (u < 0.5) for (let i = 0; i < word.length; i++) pieces.push(tokenizer.maskId);
        else if (u < 0.6) for (let i = 0; i < word.length; i++) pieces.push(augment.rng.int(tokenizer.size));
        // else: deleted
        continue;
      }
    }
    pieces.push(...word);
  }
  return [tokenizer.clsId, ...pieces.slice(0, Math.max(0, maxLength - 2)), tokenizer.sepId];
}

/** Tokenizes and pads a batch to its longest caption (not to `maxLength`: short batches stay cheap). */
export function tokenBatch(tokenizer: WordPieceTokenizer, captions: readonly string[], maxLength: number, augment?: CaptionAugmentation): TokenBatch {
  const sequences = captions.map((c) => captionIds(tokenizer, c, maxLength, augment));
  const lengths = Int32Array.from(sequences, (s) => s.length);
  const width = lengths.reduce((m, n) => Math.max(m, n), 0);
  const ids = new Int32Array(captions.length * width).fill(tokenizer.padId);
  sequences.forEach((s, b) => ids.set(s, b * width));
  const mask = Float32Array.from(ids, (id) => (id === tokenizer.padId ? 0 : 1));
  return { ids, mask, lengths, width };
}

import type { Tensor2D } from '@tensorflow/tfjs';
import type { ForwardMode, ParameterOwner } from './module';

/** `text-encoder`: captions → embeddings. Owns its tokenizer (and, in training, caption augmentation). */
export interface TextEncoder extends ParameterOwner {
  /** Embedding width D. */
  readonly embedDim: number;
  /**
   * Called once before training with every training caption (a word-level encoder builds its vocabulary here).
   * Encoders with a fixed vocabulary may ignore it.
   */
  prepare?(trainingCaptions: readonly string[]): void;
  /** @returns L2-normalised caption embeddings `[B, D]`; augmentation only when `mode.training`. */
  encode(captions: readonly string[], mode: ForwardMode): Tensor2D;
  /**
   * The words of `caption` this encoder's tokenizer cannot represent (a word vocabulary's out-of-vocabulary words,
   * which it encodes as its unknown token), in order of appearance: a query reports them instead of dropping them
   * silently. Encoders that represent every word leave it out.
   */
  unknownWords?(caption: string): string[];
  /** Serialisable tokenizer state (a vocabulary) to store beside the weights; restored by `loadTokenizerState`. */
  tokenizerState?(): unknown;
  loadTokenizerState?(state: unknown): void;
}

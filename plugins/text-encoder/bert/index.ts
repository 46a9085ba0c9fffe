/**
 * The `bert` text encoder (3SHNet's `EncoderText`): one file per concept —
 * `wordpiece.ts` (tokenizer), `captions.ts` (batching and caption augmentation), `config.ts` (`config.json`),
 * `layers.ts` / `model.ts` (BERT with Hugging Face names), `weights.ts` (checkpoint loading), `plugin.ts`.
 */
export { bertTextEncoderOptions, bertTextEncoderSpec, BertTextEncoder, TEXT_BACKBONE_GROUP } from './plugin';
export { BERT_BASE_UNCASED, bertParameterShapes, bertPoolerShapes, parseBertConfig, readBertConfig, type BertConfig } from './config';
export { BertModel } from './model';
export { loadBertWeights, type BertLoadReport } from './weights';
export { WordPieceTokenizer, readWordPieceOptions, UNCASED, type WordPieceOptions } from './wordpiece';
export { captionIds, tokenBatch, type TokenBatch } from './captions';

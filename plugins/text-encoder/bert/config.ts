import { readFileSync } from 'node:fs';
import { UsageError } from 'shnet';

/**
 * The fields of a Hugging Face BERT `config.json` the encoder uses (any BERT-family size: BERT-base/large,
 * MiniLM, TinyBERT…). Names are the JSON's own, camel-cased.
 */
export interface BertConfig {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numHiddenLayers: number;
  readonly numAttentionHeads: number;
  readonly intermediateSize: number;
  readonly maxPositionEmbeddings: number;
  readonly typeVocabSize: number;
  readonly layerNormEps: number;
  readonly hiddenDropoutProb: number;
  readonly attentionProbsDropoutProb: number;
  /** Std of the normal init of a model built without pretrained weights. */
  readonly initializerRange: number;
  readonly padTokenId: number;
}

/** bert-base-uncased, the backbone of 3SHNet (docs/model.md). */
export const BERT_BASE_UNCASED: BertConfig = {
  vocabSize: 30522,
  hiddenSize: 768,
  numHiddenLayers: 12,
  numAttentionHeads: 12,
  intermediateSize: 3072,
  maxPositionEmbeddings: 512,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  hiddenDropoutProb: 0.1,
  attentionProbsDropoutProb: 0.1,
  initializerRange: 0.02,
  padTokenId: 0,
};

/** Keys whose value changes the computation in a way this encoder does not implement. */
const UNSUPPORTED: Readonly<Record<string, unknown>> = {
  hidden_act: 'gelu',
  position_embedding_type: 'absolute',
};

/**
 * Parses a `config.json` object. Missing keys take bert-base-uncased's values (as `BertConfig()` defaults do in
 * transformers); keys that would change the computation beyond what is implemented are refused by name.
 *
 * @param source file name used in error messages
 */
export function parseBertConfig(json: Record<string, unknown>, source: string): BertConfig {
  for (const [key, supported] of Object.entries(UNSUPPORTED)) {
    if (json[key] != null && json[key] !== supported) {
      throw new UsageError(`${source}: ${key} '${String(json[key])}' is not supported (only '${String(supported)}': exact-erf GELU, absolute positions)`);
    }
  }
  const int = (key: string, fallback: number): number => {
    const v = json[key] ?? fallback;
    if (!Number.isInteger(v) || (v as number) < 0) throw new UsageError(`${source}: ${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const num = (key: string, fallback: number): number => {
    const v = json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new UsageError(`${source}: ${key} must be a non-negative number, got ${JSON.stringify(v)}`);
    return v;
  };
  const d = BERT_BASE_UNCASED;
  const config: BertConfig = {
    vocabSize: int('vocab_size', d.vocabSize),
    hiddenSize: int('hidden_size', d.hiddenSize),
    numHiddenLayers: int('num_hidden_layers', d.numHiddenLayers),
    numAttentionHeads: int('num_attention_heads', d.numAttentionHeads),
    intermediateSize: int('intermediate_size', d.intermediateSize),
    maxPositionEmbeddings: int('max_position_embeddings', d.maxPositionEmbeddings),
    typeVocabSize: int('type_vocab_size', d.typeVocabSize),
    layerNormEps: num('layer_norm_eps', d.layerNormEps),
    hiddenDropoutProb: num('hidden_dropout_prob', d.hiddenDropoutProb),
    attentionProbsDropoutProb: num('attention_probs_dropout_prob', d.attentionProbsDropoutProb),
    initializerRange: num('initializer_range', d.initializerRange),
    padTokenId: int('pad_token_id', d.padTokenId),
  };
  if (config.numAttentionHeads < 1 || config.hiddenSize % config.numAttentionHeads !== 0) {
    throw new UsageError(`${source}: hidden_size ${config.hiddenSize} is not a multiple of num_attention_heads ${config.numAttentionHeads}`);
  }
  return config;
}

/** Reads and parses `path` (a `config.json`). */
export function readBertConfig(path: string): BertConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`${path}: cannot read the BERT config (${(error as Error).message})`);
  }
  if (json == null || typeof json !== 'object' || Array.isArray(json)) throw new UsageError(`${path}: the BERT config is not a JSON object`);
  return parseBertConfig(json as Record<string, unknown>, path);
}

/**
 * Every weight of the encoder (pooler excluded, see `model.ts`) with its PyTorch `state_dict` shape, in the order
 * `BertModel` registers them. Linear weights are PyTorch's [out, in].
 */
export function bertParameterShapes(c: BertConfig): Map<string, number[]> {
  const h = c.hiddenSize;
  const shapes = new Map<string, number[]>([
    ['embeddings.word_embeddings.weight', [c.vocabSize, h]],
    ['embeddings.position_embeddings.weight', [c.maxPositionEmbeddings, h]],
    ['embeddings.token_type_embeddings.weight', [c.typeVocabSize, h]],
    ['embeddings.LayerNorm.weight', [h]],
    ['embeddings.LayerNorm.bias', [h]],
  ]);
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `encoder.layer.${i}`;
    for (const name of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
      shapes.set(`${p}.${name}.weight`, [h, h]).set(`${p}.${name}.bias`, [h]);
    }
    shapes.set(`${p}.attention.output.LayerNorm.weight`, [h]).set(`${p}.attention.output.LayerNorm.bias`, [h]);
    shapes.set(`${p}.intermediate.dense.weight`, [c.intermediateSize, h]).set(`${p}.intermediate.dense.bias`, [c.intermediateSize]);
    shapes.set(`${p}.output.dense.weight`, [h, c.intermediateSize]).set(`${p}.output.dense.bias`, [h]);
    shapes.set(`${p}.output.LayerNorm.weight`, [h]).set(`${p}.output.LayerNorm.bias`, [h]);
  }
  return shapes;
}

/** Weights of the pooler (`dense` h→h + tanh over [CLS]), present in every `BertModel` checkpoint. */
export function bertPoolerShapes(c: BertConfig): Map<string, number[]> {
  return new Map([
    ['pooler.dense.weight', [c.hiddenSize, c.hiddenSize]],
    ['pooler.dense.bias', [c.hiddenSize]],
  ]);
}

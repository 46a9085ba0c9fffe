/**
 * The model of recipes/coco/3shnet-region.yaml for benchmarks, on synthetic data of the real shapes: the 3SHNet image
 * encoder (D = 1024, VSeM + VSpM with k = 128, λ = 4, category and grid tokens, GPO) over BUTD regions [B, 36, 2048]
 * with COCO segmentation inputs (133 classes, 7×7 grid, 64×64 label map), a BERT-base text encoder (12 layers,
 * H = 768, randomly initialised: only the shapes matter here) with projection and GPO, the hinge triplet loss and
 * AdamW. `text: 'bigru'` swaps in the BiGRU text encoder (word width 300) of the ablation recipes.
 */
import 'reflect-metadata';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../core/backend/tf';
import type { ImageInputs } from '../core/contracts/image';
import type { Block } from '../core/nn';
import { trainableVariables } from '../core/nn';
import { createRng } from '../core/services/rng';
import { tripletLossSpec, type TripletLoss } from '../plugins/loss/triplet';
import { adamwSpec, type AdamW } from '../plugins/optimizer/adamw';
import type { ShnetImageEncoder } from '../plugins/image-encoder/3shnet';
import type { BertTextEncoder } from '../plugins/text-encoder/bert';
import { buildImageEncoder, buildTextEncoder, FULL } from '../test/support/model-fixtures';
import { buildPlugin, COCO_INFO } from '../test/support/plugin-harness';
import { buildBert, TINY_VOCAB } from '../test/plugins/text-encoder/bert/fixtures';
import { seededValues } from '../test/support/tensors';

export const EMBED_DIM = 1024;
export const REGIONS = 36;

/** bert-base-uncased's config.json, with a vocabulary just large enough for the benchmark captions. */
export const BERT_BASE = {
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  initializer_range: 0.02,
  hidden_act: 'gelu',
  pad_token_id: 0,
};

const SUBJECTS = ['a man', 'two dogs', 'a young girl', 'an old woman', 'a brown horse', 'three children', 'a cat', 'a surfer'];
const ACTIONS = ['rides a bicycle', 'runs along', 'sits quietly', 'is playing frisbee', 'stands next to a fence', 'looks at the camera'];
const PLACES = ['on the beach', 'in a crowded city street', 'near a wooden table', 'under a large tree in the park'];

/** `b` COCO-like captions of 7–15 words (COCO's mean is 10.5). */
export function captions(b: number): string[] {
  return Array.from({ length: b }, (_, i) => `${SUBJECTS[i % 8]} ${ACTIONS[(i * 5) % 6]} ${PLACES[(i * 3) % 4]}.`);
}

/** One synthetic batch of `b` images with the COCO shapes (regions non-negative, as ReLU features are). */
export function imageBatch(b: number): ImageInputs {
  const { numClasses: c, gridSize: g, mapSize: m, featureDim: f } = COCO_INFO;
  return {
    batchSize: b,
    regions: tf.tensor3d(seededValues(b * REGIONS * f!, 1).map(Math.abs), [b, REGIONS, f!]),
    regionLengths: new Int32Array(b).fill(REGIONS),
    segmentation: {
      classGrid: tf.tensor4d(seededValues(b * c * g * g, 2), [b, c, g, g]),
      labelMap: tf.tensor3d(
        Float32Array.from(seededValues(b * m * m, 3), (x) => Math.floor((x + 1) * 66)),
        [b, m, m],
      ),
      categories: tf.tensor2d(
        Float32Array.from(seededValues(b * c, 4), (x) => (x > 0.8 ? 1 : 0)),
        [b, c],
      ),
    },
  };
}

/** A bert-base folder (config.json + vocab.txt, no weights) in a temporary directory. */
function bertBaseDir(): string {
  const words = new Set([...SUBJECTS, ...ACTIONS, ...PLACES].flatMap((s) => s.split(' ')));
  const vocab = [...new Set([...TINY_VOCAB, ...words])];
  const dir = mkdtempSync(join(tmpdir(), 'shnet-bench-bert-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...BERT_BASE, vocab_size: vocab.length }));
  writeFileSync(join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  return dir;
}

export type TextEncoderKind = 'bert' | 'bigru';

export interface TextEncoderLike extends Block {
  encode(captions: readonly string[], mode: { training: boolean; rng: ReturnType<typeof createRng> }): tf.Tensor2D;
}

export interface BenchModel {
  image: ShnetImageEncoder;
  text: TextEncoderLike;
  textKind: TextEncoderKind;
  /** Tokens per caption including [CLS]/[SEP] (bert) or words (bigru), padded to the batch's longest: T. */
  tokens: number;
  loss: TripletLoss;
  optimizer: AdamW;
  /** Forward + backward of the whole model; returns the gradients by variable name (the caller disposes them). */
  gradients(batch: ImageInputs, caps: readonly string[]): tf.NamedTensorMap;
  /** One AdamW update with `grads`. */
  apply(grads: tf.NamedTensorMap): void;
  dispose(): void;
}

/** Builds the benchmark model on the active backend. */
export function buildModel(text: TextEncoderKind = 'bert', caps: readonly string[] = captions(32)): BenchModel {
  const image = buildImageEncoder(FULL, COCO_INFO, EMBED_DIM);
  let textEncoder: TextEncoderLike;
  let tokens: number;
  if (text === 'bert') {
    const bert: BertTextEncoder = buildBert({ modelDir: bertBaseDir(), pretrained: false, embedDim: EMBED_DIM });
    tokens = bert.tokenize(caps, { training: false, rng: createRng(0) }).width;
    textEncoder = bert as unknown as TextEncoderLike;
  } else {
    const bigru = buildTextEncoder({ embedDim: EMBED_DIM, wordDim: 300 });
    bigru.prepare(caps);
    tokens = Math.max(...caps.map((c) => c.split(' ').length));
    textEncoder = bigru as unknown as TextEncoderLike;
  }
  const loss = buildPlugin<TripletLoss>(tripletLossSpec, { args: { warmupEpochs: 0 } });
  const optimizer = buildPlugin<AdamW>(adamwSpec);
  const rng = createRng(9);
  const progress = { epoch: 1, step: 0 };
  const vars = [...trainableVariables(image), ...trainableVariables(textEncoder)];
  const params = [
    ...image.parameters().map((p) => ({ ...p, name: `image.${p.name}` })),
    ...textEncoder.parameters().map((p) => ({ ...p, name: `text.${p.name}` })),
  ];
  const lrs = optimizer.baseLearningRates(['default', 'text-backbone']);
  return {
    image,
    text: textEncoder,
    textKind: text,
    tokens,
    loss,
    optimizer,
    gradients(batch, caps) {
      const mode = { training: true, rng };
      const { value, grads } = tf.variableGrads(() => loss.compute(image.encode(batch, mode), textEncoder.encode(caps, mode), progress), vars);
      value.dataSync();
      value.dispose();
      return grads;
    },
    apply(grads) {
      const named = new Map(params.filter((p) => grads[p.variable.name]).map((p) => [p.name, grads[p.variable.name]]));
      optimizer.apply(params, named, lrs);
      vars[0].dataSync();
    },
    dispose() {
      image.dispose();
      textEncoder.dispose();
    },
  };
}

/** Median of `runs` timings (ms) of `fn` after one warm-up; every run ends with a read-back inside `fn`. */
export function medianMs(runs: number, fn: () => void): number {
  fn();
  const times = Array.from({ length: runs }, () => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  }).sort((a, b) => a - b);
  return times[Math.floor(runs / 2)];
}

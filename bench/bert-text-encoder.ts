/**
 * Time of one training step's text side for a batch of 32 captions through the `bert` text encoder on
 * all-MiniLM-L6-v2 (6 layers, H = 384), on the wasm backend: evaluation forward, training forward (dropout and
 * augmentation on), and training forward + backward (gradients into BERT, projection and GPO), with BERT
 * frozen and fine-tuned. Median of timed runs after a warm-up.
 * Run: npx ts-node --transpile-only bench/bert-text-encoder.ts
 */
import 'reflect-metadata';
import { tf } from '../core/backend/tf';
import { selectBackend } from '../core/backend/select';
import { trainableVariables } from '../core/nn';
import { createRng } from '../core/services/rng';
import type { BertTextEncoder } from '../plugins/text-encoder/bert';
import { buildBert, miniLmDir } from '../test/plugins/text-encoder/bert/fixtures';
import { medianMs } from './model';

const SUBJECTS = ['a man', 'two dogs', 'a young girl', 'an old woman', 'a brown horse', 'three children', 'a cat', 'a surfer'];
const ACTIONS = ['rides a bicycle', 'runs along', 'sits quietly', 'is playing frisbee', 'stands next to a fence', 'looks at the camera'];
const PLACES = ['on the beach', 'in a crowded city street', 'near a wooden table', 'under a large tree in the park'];
/** 32 COCO-like captions of 7–15 tokens. */
const CAPTIONS = Array.from({ length: 32 }, (_, i) => `${SUBJECTS[i % 8]} ${ACTIONS[i % 6]} ${PLACES[i % 4]}.`);

function step(enc: BertTextEncoder, seed: number): void {
  const { value, grads } = tf.variableGrads(() => enc.encode(CAPTIONS, { training: true, rng: createRng(seed) }).sum() as tf.Scalar, trainableVariables(enc));
  value.dataSync();
  tf.dispose([value, grads]);
}

async function main(): Promise<void> {
  await selectBackend('wasm');
  const dir = miniLmDir();
  const rows: [string, number][] = [];
  for (const freeze of [false, true]) {
    const enc = buildBert({ modelDir: dir, embedDim: 1024, freeze });
    if (!freeze) {
      rows.push(['forward, evaluation', medianMs(5, () => tf.tidy(() => void enc.encode(CAPTIONS, { training: false, rng: createRng(0) }).dataSync()))]);
      rows.push(['forward, training', medianMs(5, () => tf.tidy(() => void enc.encode(CAPTIONS, { training: true, rng: createRng(1) }).dataSync()))]);
    }
    let seed = 2;
    rows.push([`forward + backward, ${freeze ? 'BERT frozen' : 'BERT fine-tuned'}`, medianMs(5, () => step(enc, seed++))]);
    enc.dispose();
  }
  console.log(`all-MiniLM-L6-v2, batch ${CAPTIONS.length}, wasm (${tf.memory().numTensors} tensors left)`);
  for (const [name, ms] of rows) console.log(`${name.padEnd(36)} ${ms.toFixed(0).padStart(6)} ms`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

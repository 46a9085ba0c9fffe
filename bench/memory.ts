/**
 * Section 6 of `npm run bench`, memory over training: `tf.memory().numTensors` and the process RSS before and after
 * N full training steps (forward + backward + AdamW) of the benchmark model (bench/model.ts). A leak of even one
 * tensor a step shows as growth; RSS settles upwards during the first few dozen steps (allocator pools), so it is
 * read after a warm-up step, halfway and at the end: the second half shows whether it keeps growing.
 *
 * Run alone: node dist/bench/memory.js. Environment: SHNET_BENCH_MEMORY_STEPS (N, default 100: a leak of one tensor
 * a step shows at the second), SHNET_BENCH_MEMORY_BATCH (default 2), SHNET_BENCH_MEMORY_TEXT (bert|bigru; default
 * SHNET_BENCH_TEXT, else bert, bigru on wasm as in section 2), SHNET_BENCH_BACKEND.
 */
import { tf } from '../core/backend/tf';
import { selectBackend, type BackendRequest } from '../core/backend/select';
import { buildModel, captions, imageBatch, type TextEncoderKind } from './model';
import { envNumber, fmt, runSection, type SectionResult } from './report';

export async function memory(): Promise<SectionResult> {
  const steps = envNumber('SHNET_BENCH_MEMORY_STEPS', 100);
  const b = envNumber('SHNET_BENCH_MEMORY_BATCH', 2);
  const info = await selectBackend((process.env.SHNET_BENCH_BACKEND ?? 'auto') as BackendRequest);
  const text = (process.env.SHNET_BENCH_MEMORY_TEXT ?? process.env.SHNET_BENCH_TEXT ?? (info.name === 'wasm' ? 'bigru' : 'bert')) as TextEncoderKind;
  const caps = captions(b);
  const model = buildModel(text, caps);
  const batch = imageBatch(b);
  const step = () => {
    const grads = model.gradients(batch, caps);
    model.apply(grads);
    tf.dispose(grads);
  };
  step(); // lazily created state: AdamW moments, cached GPO weights
  const tensors0 = tf.memory().numTensors;
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  let rssHalf = rss0;
  for (let i = 0; i < steps; i++) {
    step();
    if (i + 1 === Math.ceil(steps / 2)) rssHalf = process.memoryUsage().rss;
  }
  const seconds = (performance.now() - t0) / 1000;
  const growth = tf.memory().numTensors - tensors0;
  const rssEnd = process.memoryUsage().rss;
  const rssGrowth = (rssEnd - rss0) / 2 ** 20;
  model.dispose();
  const name = `${info.name}, ${steps} steps at B=${b}, ${text === 'bert' ? 'BERT-base' : 'BiGRU'} text (${fmt(seconds / steps, 2)} s a step)`;
  return {
    rows: [
      {
        section: '6 memory',
        measure: `${name}: tensors after − before`,
        value: `${growth} (of ${tensors0})`,
        target: '0',
        met: growth === 0,
      },
      {
        section: '6 memory',
        measure: `${name}: RSS after − before`,
        value: `${fmt(rssGrowth, 0)} MiB (from ${fmt(rss0 / 2 ** 20, 0)} MiB; over the second half ${fmt((rssEnd - rssHalf) / 2 ** 20, 0)} MiB)`,
      },
    ],
    data: { growth, rssGrowth },
  };
}

if (require.main === module) runSection(memory);

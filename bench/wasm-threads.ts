/**
 * Section 7 of `npm run bench`, the wasm backend on every core: the same measurements on the single-threaded wasm
 * build and on the threaded one (core/backend/wasm-kernels/threaded-wasm.ts), each in its own child process
 * (a process holds one wasm module), alternating so that both see the same machine. wasm is the backend of a fresh
 * machine, so this is the gain every user without the native backend gets.
 *
 *   node dist/bench/wasm-threads.js
 *
 * Measured in each child: matMul 1024³ and conv2d 3×3 forward + backward (GFLOP/s), the 3SHNet image encoder's
 * forward + backward at batch SHNET_BENCH_THREADS_BATCH (default 8: batch 32 does not fit the wasm heap), and its
 * inference at the same batch. SHNET_BENCH_THREADS (default: one per core) sets the threaded count,
 * SHNET_BENCH_RUNS (default 3) the timed runs per figure, SHNET_BENCH_ROUNDS (default 2) the alternations.
 */
import { execFileSync } from 'node:child_process';
import { tf } from '../core/backend/tf';
import { describeBackend, selectBackend, wasmThreadsWanted } from '../core/backend/select';
import { createRng } from '../core/services/rng';
import { trainableVariables } from '../core/nn';
import { COCO_INFO } from '../test/support/plugin-harness';
import { buildImageEncoder, FULL } from '../test/support/model-fixtures';
import { conv2dGflops, matmulGflops } from './backend-matmul';
import { EMBED_DIM, imageBatch, medianMs } from './model';
import { envNumber, fmt, parseSectionOutput, runSection, type Row, type SectionResult } from './report';

const SECTION = '7 wasm threads';

interface Figures {
  backend: string;
  threads: number;
  matmul: number;
  conv2d: number;
  imageStepMs: number;
  inferenceMs: number;
}

/** The measurements of one child process, on whatever wasm build SHNET_WASM_THREADS selects. */
async function measure(): Promise<SectionResult> {
  const b = envNumber('SHNET_BENCH_THREADS_BATCH', 8);
  const runs = envNumber('SHNET_BENCH_RUNS', 3);
  const info = await selectBackend('wasm');
  const matmul = matmulGflops(1024, false, 5);
  const conv2d = conv2dGflops(3);
  const encoder = buildImageEncoder(FULL, COCO_INFO, EMBED_DIM);
  const batch = imageBatch(b);
  const vars = trainableVariables(encoder);
  const training = { training: true, rng: createRng(9) };
  const imageStepMs = medianMs(runs, () => {
    const { value, grads } = tf.variableGrads(() => encoder.encode(batch, training).sum() as tf.Scalar, vars);
    value.dataSync();
    tf.dispose([value, grads]);
  });
  const inference = { training: false, rng: createRng(0) };
  const inferenceMs = medianMs(runs, () => tf.tidy(() => void encoder.encode(batch, inference).dataSync()));
  encoder.dispose();
  const figures: Figures = { backend: describeBackend(info), threads: info.threads, matmul, conv2d, imageStepMs, inferenceMs };
  return { rows: [], data: { ...figures } };
}

function child(threads: number): Figures {
  const stdout = execFileSync(process.execPath, [__filename, '--child', '--json'], {
    env: { ...process.env, SHNET_WASM_THREADS: String(threads) },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return parseSectionOutput(stdout).data as unknown as Figures;
}

/** Best of the rounds for each figure (noise on a shared machine only ever slows a run down). */
function best(runs: Figures[]): Figures {
  const pick = (key: keyof Figures, better: (x: number, y: number) => number) => runs.map((r) => r[key] as number).reduce((x, y) => better(x, y));
  return {
    ...runs[0],
    matmul: pick('matmul', Math.max),
    conv2d: pick('conv2d', Math.max),
    imageStepMs: pick('imageStepMs', Math.min),
    inferenceMs: pick('inferenceMs', Math.min),
  };
}

async function compare(): Promise<SectionResult> {
  const threads = envNumber('SHNET_BENCH_THREADS', wasmThreadsWanted());
  const rounds = envNumber('SHNET_BENCH_ROUNDS', 2);
  const b = envNumber('SHNET_BENCH_THREADS_BATCH', 8);
  const one: Figures[] = [];
  const many: Figures[] = [];
  for (let round = 0; round < rounds; round++) {
    one.push(child(1));
    many.push(child(threads));
  }
  const [s, t] = [best(one), best(many)];
  const name = `wasm, ${t.threads} threads`;
  const rows: Row[] = [
    {
      section: SECTION,
      measure: `${name}: matMul 1024³`,
      value: `${fmt(t.matmul)} GFLOP/s`,
      against: `1 thread ${fmt(s.matmul)} GFLOP/s`,
      ratio: t.matmul / s.matmul,
    },
    {
      section: SECTION,
      measure: `${name}: conv2d 3×3 fwd+bwd [8,64,64,64]→64`,
      value: `${fmt(t.conv2d)} GFLOP/s`,
      against: `1 thread ${fmt(s.conv2d)} GFLOP/s`,
      ratio: t.conv2d / s.conv2d,
    },
    {
      section: SECTION,
      measure: `${name}: image encoder fwd+bwd, B=${b}`,
      value: `${fmt(t.imageStepMs, 0)} ms`,
      against: `1 thread ${fmt(s.imageStepMs, 0)} ms`,
      ratio: s.imageStepMs / t.imageStepMs,
    },
    {
      section: SECTION,
      measure: `${name}: image encoder inference, B=${b}`,
      value: `${fmt((1000 * b) / t.inferenceMs)} images/s`,
      against: `1 thread ${fmt((1000 * b) / s.inferenceMs)} images/s`,
      ratio: s.inferenceMs / t.inferenceMs,
    },
  ];
  return { rows, data: { threads: t.threads } };
}

if (require.main === module) runSection(process.argv.includes('--child') ? measure : compare);

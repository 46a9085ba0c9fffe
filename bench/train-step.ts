/**
 * One training step of the full 3SHNet image encoder + BiGRU text encoder + triplet loss (+ AdamW) at the reference's
 * sizes: B = 32, D = 1024, R = 36, F = 2048, C = 133, 64×64 maps, 7×7 grids, 12-word captions, random inputs.
 * Run: npx ts-node --transpile-only bench/train-step.ts [backend=wasm] [steps=3] [batch=32] [copy-free-slice]
 *
 * `copy-free-slice` (an experiment, wasm only): replaces the wasm `Slice` kernel, which copies its whole input
 * (`readSync`) before taking a contiguous slice, by one that copies only the slice. Batched matMuls split into
 * per-item products slice their operands once per item, so with the stock kernel their cost grows with B².
 *
 * Prints the median wall time of forward+backward (tf.variableGrads) and of the optimizer step, the same for each
 * encoder alone and for the blocks that are candidates for the hot spot (VSpM, GPO, the fused-token MLPs), and the
 * ten kernels with the most time in one profiled step.
 */
import 'reflect-metadata';
import { tf } from '../core/backend/tf';
import { selectBackend, type BackendRequest } from '../core/backend/select';
import { replaceWasmKernel, type BackendWasm } from '../core/backend/wasm-kernels/wasm-backend';
import type { Aggregator, HighlightModule, ImageInputs, Segmentation } from '../core/contracts/image';
import { trainableVariables } from '../core/nn';
import { createRng } from '../core/services/rng';
import { tripletLossSpec, type TripletLoss } from '../plugins/loss/triplet';
import { adamwSpec, type AdamW } from '../plugins/optimizer/adamw';
import { buildImageEncoder, buildTextEncoder, FULL } from '../test/support/model-fixtures';
import { buildPlugin, COCO_INFO } from '../test/support/plugin-harness';
import { seededValues } from '../test/support/tensors';

const B = Number(process.argv[4] ?? 32);
const D = 1024;
const R = 36;
const WORDS = ['a', 'man', 'woman', 'dog', 'rides', 'horse', 'on', 'the', 'beach', 'street', 'with', 'red', 'car', 'two', 'people'];

function inputs(): ImageInputs {
  const { numClasses: c, gridSize: g, mapSize: m, featureDim: f } = COCO_INFO;
  return {
    batchSize: B,
    regions: tf.tensor3d(seededValues(B * R * f!, 1).map(Math.abs), [B, R, f!]),
    regionLengths: new Int32Array(B).fill(R),
    segmentation: {
      classGrid: tf.tensor4d(seededValues(B * c * g * g, 2), [B, c, g, g]),
      labelMap: tf.tensor3d(Float32Array.from(seededValues(B * m * m, 3), (x) => Math.floor((x + 1) * 66)), [B, m, m]),
      categories: tf.tensor2d(Float32Array.from(seededValues(B * c, 4), (x) => (x > 0.8 ? 1 : 0)), [B, c]),
    },
  };
}

function captions(): string[] {
  const rng = createRng(5);
  return Array.from({ length: B }, () => Array.from({ length: 12 }, () => WORDS[rng.int(WORDS.length)]).join(' '));
}

/** Median of `runs` timings of `fn` after one warm-up (every run ends with a read-back of a scalar). */
function median(runs: number, fn: () => void): number {
  fn();
  const times = Array.from({ length: runs }, () => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  }).sort((a, b) => a - b);
  return times[Math.floor(runs / 2)];
}

/** Contiguous slices copied straight from the heap (the stock kernel first copies the whole input out). */
function useCopyFreeSlice(): void {
  replaceWasmKernel('Slice', (stock) => (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as BackendWasm;
    const x = inputs.x as tf.TensorInfo;
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
    if (x.dtype === 'string' || !tf.slice_util.isSliceContinous(x.shape, begin, size)) return stock(args) as tf.TensorInfo;
    const offset = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
    const out = backend.makeOutput(size, x.dtype);
    // Views after the allocation: growing the heap detaches older ones.
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(x).subarray(offset, offset + tf.util.sizeFromShape(size)));
    return out;
  });
}

async function main(): Promise<void> {
  const backend = (process.argv[2] ?? 'wasm') as BackendRequest;
  const runs = Number(process.argv[3] ?? 3);
  const info = await selectBackend(backend);
  const copyFreeSlice = process.argv.includes('copy-free-slice');
  if (copyFreeSlice) useCopyFreeSlice();
  const image = buildImageEncoder(FULL, COCO_INFO, D);
  const text = buildTextEncoder({ embedDim: D, wordDim: 300 });
  const caps = captions();
  text.prepare(caps);
  const loss = buildPlugin<TripletLoss>(tripletLossSpec, { args: { warmupEpochs: 0 } });
  const optimizer = buildPlugin<AdamW>(adamwSpec);
  const batch = inputs();
  const rng = createRng(9);
  const mode = { training: true, rng };
  const progress = { epoch: 1, step: 0 };
  const vars = [...trainableVariables(image), ...trainableVariables(text)];
  const params = [...image.parameters().map((p) => ({ ...p, name: `image.${p.name}` })), ...text.parameters().map((p) => ({ ...p, name: `text.${p.name}` }))];
  const lrs = optimizer.baseLearningRates(['default']);

  const gradsOf = (f: () => tf.Scalar, list: tf.Variable[]) => {
    const { value, grads } = tf.variableGrads(f, list);
    value.dataSync();
    return grads;
  };
  const rows: [string, number][] = [];
  const time = (label: string, f: () => tf.Scalar, list: tf.Variable[]) =>
    rows.push([label, median(runs, () => tf.dispose(gradsOf(f, list)))]);

  const step = () => loss.compute(image.encode(batch, mode), text.encode(caps, mode), progress);
  time('full step: forward + backward', step, vars);
  let applyMs = 0;
  for (let i = 0; i < runs; i++) {
    const grads = gradsOf(step, vars);
    const named = new Map(params.filter((p) => grads[p.variable.name]).map((p) => [p.name, grads[p.variable.name]]));
    const t0 = performance.now();
    optimizer.apply(params, named, lrs);
    vars[0].dataSync();
    applyMs += (performance.now() - t0) / runs;
    tf.dispose(grads);
  }
  rows.push(['full step: AdamW apply (mean)', applyMs]);
  time('image encoder alone: forward + backward', () => image.encode(batch, mode).sum() as tf.Scalar, trainableVariables(image));
  time('text encoder alone: forward + backward', () => text.encode(caps, mode).sum() as tf.Scalar, trainableVariables(text));

  // The candidate hot spots, each forward + backward on the shapes it sees inside the full step.
  const parts = (image as unknown as { parts: Record<string, unknown> }).parts;
  const v0 = tf.randomNormal([B, R, D]) as tf.Tensor3D;
  const lengths = new Int32Array(B).fill(R);
  const seg = batch.segmentation as Segmentation;
  const spatial = parts['highlight.spatial'] as HighlightModule & { parameters(): { variable: tf.Variable; trainable: boolean }[] };
  const semantic = parts['highlight.semantic'] as HighlightModule & { parameters(): { variable: tf.Variable; trainable: boolean }[] };
  const gpo = parts.aggregator as Aggregator & { parameters(): { variable: tf.Variable; trainable: boolean }[] };
  const own = (o: { parameters(): { variable: tf.Variable; trainable: boolean }[] }) => o.parameters().filter((p) => p.trainable).map((p) => p.variable);
  time('  VSpM (spatial) alone', () => spatial.highlight(v0, lengths, seg, mode).sum() as tf.Scalar, own(spatial));
  time('  VSeM (semantic) alone', () => semantic.highlight(v0, lengths, seg, mode).sum() as tf.Scalar, own(semantic));
  const tokens = tf.randomNormal([B, 2 * R + 50, D]) as tf.Tensor3D;
  const tokenLengths = new Int32Array(B).fill(2 * R + 50);
  time('  image GPO alone (122 tokens, sort + BiGRU weights)', () => gpo.pool(tokens, tokenLengths, mode).sum() as tf.Scalar, own(gpo));

  // Kernel breakdown of one full forward + backward.
  const profile = await tf.profile(() => tf.dispose(gradsOf(step, vars)));
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of profile.kernels) {
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += Number(k.kernelTimeMs) || 0;
    entry.calls += 1;
    byKernel.set(k.name, entry);
  }
  const total = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);

  console.log(`backend ${info.name} (${info.threads} thread${info.threads === 1 ? '' : 's'}${info.simd ? ', SIMD' : ''})${copyFreeSlice ? ' + copy-free Slice' : ''}; B=${B} D=${D} R=${R} F=2048 C=133 map 64×64; median of ${runs} after a warm-up`);
  for (const [label, ms] of rows) console.log(`${label.padEnd(56)} ${ms.toFixed(0).padStart(7)} ms`);
  console.log(`\nkernels in one forward + backward (profiled, ${total.toFixed(0)} ms kernel time, ${profile.kernels.length} kernel calls):`);
  for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) {
    console.log(`  ${name.padEnd(24)} ${e.ms.toFixed(0).padStart(7)} ms  ${((100 * e.ms) / total).toFixed(1).padStart(5)} %  ${String(e.calls).padStart(6)} calls`);
  }
  console.log(`peak bytes ${(profile.peakBytes / 2 ** 20).toFixed(0)} MiB`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

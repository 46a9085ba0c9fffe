/**
 * Section 2 of `npm run bench`, training step: one step of recipes/coco/3shnet-region.yaml's image + text model
 * (bench/model.ts: 3SHNet image encoder, BERT-base text encoder, triplet loss, AdamW) on synthetic data of the real
 * shapes. Reports steps/s, the achieved GFLOP/s (FLOPs counted in bench/flops.ts) as a fraction of the backend's
 * matMul peak, and a per-block time breakdown (the image encoder against its PyTorch peer is section 4).
 *
 * Run alone: node dist/bench/train-step.js [backend=auto] [runs=3] [batch=32] [text=bert|bigru]
 * Environment (what bench/index.ts sets): SHNET_BENCH_BACKEND, SHNET_BENCH_RUNS, SHNET_BENCH_BATCH,
 * SHNET_BENCH_TEXT, SHNET_BENCH_PEAKS (JSON {backend: matMul GFLOP/s}; measured here when absent). Batch and text
 * default to 32 and bert; on wasm the text encoder defaults to bigru (at B = 32 the BERT-base step takes the wasm
 * heap to within 60 MiB of its limit).
 *
 * Memory on wasm is counted in heap buffers (bench/heap-meter.ts), elsewhere as tf.profile's peak tensor bytes.
 */
import { totalmem } from 'node:os';
import { tf } from '../core/backend/tf';
import { setBackwardRelease } from '../core/backend/backward-memory';
import { selectBackend, type BackendRequest } from '../core/backend/select';
import type { Aggregator, HighlightModule, Segmentation } from '../core/contracts/image';
import { countTrainable, trainableVariables } from '../core/nn';
import { createRng } from '../core/services/rng';
import { matmulGflops } from './backend-matmul';
import { total, trainingStepFlops, type BlockFlops } from './flops';
import { buildModel, captions, EMBED_DIM, imageBatch, medianMs, REGIONS, type TextEncoderKind } from './model';
import { WASM_HEAP_MAX, WasmHeapMeter } from './heap-meter';
import { fmt, gflops, runSection, type Row, type SectionResult } from './report';

const SECTION = '2 training step';

function option(position: number, env: string, fallback: string): string {
  const arg = process.argv[position];
  return arg != null && !arg.startsWith('--') ? arg : (process.env[env] ?? fallback);
}

type Variables = tf.Variable[];
const own = (o: { parameters(): { variable: tf.Variable; trainable: boolean }[] }): Variables =>
  o
    .parameters()
    .filter((p) => p.trainable)
    .map((p) => p.variable);

/** Forward + backward of `f` against `vars`, gradients read back and dropped. */
function gradStep(f: () => tf.Scalar, vars: Variables): void {
  const { value, grads } = tf.variableGrads(f, vars);
  value.dataSync();
  tf.dispose([value, grads]);
}

export async function trainStep(): Promise<SectionResult> {
  const backend = option(2, 'SHNET_BENCH_BACKEND', 'auto') as BackendRequest;
  const runs = Number(option(3, 'SHNET_BENCH_RUNS', '3'));
  const info = await selectBackend(backend);
  const meter = WasmHeapMeter.attach();
  const onWasm = meter != null;
  const b = Number(option(4, 'SHNET_BENCH_BATCH', '32'));
  const textKind = option(5, 'SHNET_BENCH_TEXT', onWasm ? 'bigru' : 'bert') as TextEncoderKind;
  const peaks = JSON.parse(process.env.SHNET_BENCH_PEAKS ?? '{}') as Record<string, number>;
  const peak = peaks[info.name] ?? matmulGflops(1024, false, 3);

  const caps = captions(b);
  const model = buildModel(textKind, caps);
  const batch = imageBatch(b);
  const flops = trainingStepFlops(b, model.tokens, textKind);
  const stepFlops = total([...flops.image, ...flops.text, ...flops.loss]);
  const rng = createRng(9);
  const mode = { training: true, rng };

  // The full step: forward + backward + AdamW.
  const stepMs = medianMs(runs, () => {
    const grads = model.gradients(batch, caps);
    model.apply(grads);
    tf.dispose(grads);
  });
  const profile = await tf.profile(() => tf.dispose(model.gradients(batch, caps)));
  let applyMs = 0;
  for (let i = 0; i < runs; i++) {
    const grads = model.gradients(batch, caps);
    const t0 = performance.now();
    model.apply(grads);
    applyMs += (performance.now() - t0) / runs;
    tf.dispose(grads);
  }

  // Each encoder alone, and the image encoder's candidate hot blocks on the shapes they see inside the step.
  const imageMs = medianMs(runs, () => gradStep(() => model.image.encode(batch, mode).sum() as tf.Scalar, trainableVariables(model.image)));
  const textMs = medianMs(runs, () => gradStep(() => model.text.encode(caps, mode).sum() as tf.Scalar, trainableVariables(model.text)));
  const parts = (model.image as unknown as { parts: Record<string, unknown> }).parts;
  const v0 = tf.randomNormal([b, REGIONS, EMBED_DIM]) as tf.Tensor3D;
  const lengths = new Int32Array(b).fill(REGIONS);
  const seg = batch.segmentation as Segmentation;
  type WithParams = { parameters(): { variable: tf.Variable; trainable: boolean }[] };
  const spatial = parts['highlight.spatial'] as HighlightModule & WithParams;
  const semantic = parts['highlight.semantic'] as HighlightModule & WithParams;
  const gpo = parts.aggregator as Aggregator & WithParams;
  const spatialMs = medianMs(runs, () => gradStep(() => spatial.highlight(v0, lengths, seg, mode).sum() as tf.Scalar, own(spatial)));
  const semanticMs = medianMs(runs, () => gradStep(() => semantic.highlight(v0, lengths, seg, mode).sum() as tf.Scalar, own(semantic)));
  const tokenCount = 1 + 2 * REGIONS + 49;
  const tokens = tf.randomNormal([b, tokenCount, EMBED_DIM]) as tf.Tensor3D;
  const gpoMs = medianMs(runs, () => gradStep(() => gpo.pool(tokens, new Int32Array(b).fill(tokenCount), mode).sum() as tf.Scalar, own(gpo)));
  tf.dispose([v0, tokens]);

  const of = (prefix: string) => flops.image.filter((x) => x.block.startsWith(prefix));
  const rows: Row[] = [];
  const name = `${info.name}, B=${b}`;
  rows.push({
    section: SECTION,
    measure: `${name}: full step (fwd+bwd+AdamW), image + ${textKind === 'bert' ? 'BERT-base' : 'BiGRU'} text, T=${model.tokens}`,
    value: `${fmt(stepMs, 0)} ms = ${fmt(1000 / stepMs, 3)} steps/s, ${fmt(gflops(stepFlops, stepMs))} GFLOP/s (${fmt(stepFlops / 1e9)} GFLOP)`,
    against: `${info.name} matMul peak ${fmt(peak)} GFLOP/s`,
    ratio: gflops(stepFlops, stepMs) / peak,
    target: '≥ 0.5 of peak',
    met: gflops(stepFlops, stepMs) / peak >= 0.5,
  });
  const breakdown: [string, number, BlockFlops[]][] = [
    ['image encoder fwd+bwd (against the PyTorch peer in section 4)', imageMs, flops.image],
    [`text encoder fwd+bwd (${textKind})`, textMs, flops.text],
    ['  VSpM (spatial highlight) fwd+bwd', spatialMs, of('VSpM')],
    ['  VSeM (semantic highlight) fwd+bwd', semanticMs, of('VSeM')],
    ['  GPO (123 tokens) fwd+bwd', gpoMs, of('GPO')],
    [
      '  rest of the image encoder (fc, MLPs, tokens; by difference)',
      Math.max(0, imageMs - spatialMs - semanticMs - gpoMs),
      flops.image.filter((x) => !/^(VSpM|VSeM|GPO)/.test(x.block)),
    ],
    ['AdamW apply', applyMs, []],
  ];
  for (const [what, ms, blocks] of breakdown) {
    const f = total(blocks);
    rows.push({
      section: SECTION,
      measure: `${name}: ${what}`,
      value: `${fmt(ms, 0)} ms${f > 0 ? `, ${fmt(gflops(f, ms))} GFLOP/s` : ''}`,
      against: 'full step',
      ratio: ms / stepMs,
    });
  }
  // Peak memory of a forward + backward at B and B/2: the difference is what one more image costs, the rest
  // (weights, gradients, AdamW's moments, batch-independent temporaries) stays at any batch.
  const params = countTrainable(model.image) + countTrainable(model.text);
  const half = Math.max(1, Math.floor(b / 2));
  const halfBatch = imageBatch(half);
  const halfCaps = caps.slice(0, half);
  const peakOf = async (run: () => void) => {
    if (meter == null) return (await tf.profile(run)).peakBytes;
    meter.resetPeak();
    run();
    return meter.peak;
  };
  const stepPeak = await peakOf(() => tf.dispose(model.gradients(batch, caps)));
  const halfPeak = half < b ? await peakOf(() => tf.dispose(model.gradients(halfBatch, halfCaps))) : 0;
  tf.dispose([halfBatch.regions, ...Object.values(halfBatch.segmentation ?? {})]);
  const budget = onWasm ? WASM_HEAP_MAX : 0.8 * totalmem();
  const slope = half < b ? (stepPeak - halfPeak) / (b - half) : 0;
  const fixed = stepPeak - slope * b;
  const what = onWasm ? 'peak wasm heap buffers' : 'peak tensor memory';
  rows.push({
    section: SECTION,
    measure: `${name}: ${what} of fwd+bwd (${fmt(params / 1e6)} M parameters; at B=${half}: ${fmt(halfPeak / 2 ** 20, 0)} MiB)`,
    value: `${fmt(stepPeak / 2 ** 20, 0)} MiB`,
    // Extrapolated only when the two peaks give a usable slope (at small batches noise dominates).
    ...(slope > 2 ** 20
      ? {
          against: `largest batch within ${onWasm ? 'the wasm heap limit' : '80 % of RAM'} ${fmt(budget / 2 ** 30, 2)} GiB (${fmt(slope / 2 ** 20)} MiB per image)`,
          ratio: Math.floor((budget - fixed) / slope),
        }
      : {}),
  });
  // What releasing the backward pass's intermediates early (core/backend/backward-memory.ts) saves, same run.
  const imagePeak = async (release: boolean) => {
    const previous = setBackwardRelease(release);
    try {
      return await peakOf(() => gradStep(() => model.image.encode(batch, mode).sum() as tf.Scalar, trainableVariables(model.image)));
    } finally {
      setBackwardRelease(previous);
    }
  };
  const [released, kept] = [await imagePeak(true), await imagePeak(false)];
  rows.push({
    section: SECTION,
    measure: `${name}: image encoder fwd+bwd, ${what} (backward pass releasing as it goes)`,
    value: `${fmt(released / 2 ** 20, 0)} MiB`,
    against: `tfjs's own backward pass ${fmt(kept / 2 ** 20, 0)} MiB`,
    ratio: released / kept,
  });
  if (meter) {
    rows.push({
      section: SECTION,
      measure: `${name}: wasm heap size after the section (it only grows: buffers, fragmentation, packed weights)`,
      value: `${fmt(meter.heapBytes() / 2 ** 20, 0)} MiB`,
      against: `limit ${fmt(WASM_HEAP_MAX / 2 ** 20, 0)} MiB`,
      ratio: meter.heapBytes() / WASM_HEAP_MAX,
    });
  }
  const byKernel = new Map<string, number>();
  for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (Number(k.kernelTimeMs) || 0));
  const kernelTotal = [...byKernel.values()].reduce((s, x) => s + x, 0);
  const top = [...byKernel].sort((x, y) => y[1] - x[1]).slice(0, 5);
  rows.push({
    section: SECTION,
    measure: `${name}: top kernels of one fwd+bwd (profiled)`,
    value: top.map(([k, ms]) => `${k} ${fmt((100 * ms) / kernelTotal, 0)}%`).join(', '),
  });
  model.dispose();
  return { rows, data: { stepMs, imageMs, backend: info.name } };
}

if (require.main === module) runSection(trainStep);

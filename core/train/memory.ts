import { assertAllocationFits, formatBytes, tensorMemoryLimit } from '../backend/memory-guard';
import { tf } from '../backend/tf';
import type { Rng } from '../contracts/services';
import { UsageError } from '../errors';
import { disposeImageInputs, imageInputsFromHost } from './inputs';
import type { HostBatch } from './sampler';
import type { StepContext } from './step';

const MIB = 1024 ** 2;

/**
 * Refuses a batch size whose training step would not fit in tensor memory — the wasm safe heap limit under wasm
 * (past it the heap corrupts tensors silently), the machine's memory elsewhere — with a message naming what to
 * lower, before the step runs and before any probe could itself run out of memory.
 *
 * First, analytically: the step holds the live set (weights, buffers, the batch's inputs scaled to `batchSize`)
 * plus four copies of the trainable weights (gradients, clipped gradients, AdamW's two moments). A model whose
 * floor already crosses the limit is refused without running anything (an `embedDim` of 4096 on the demo used to
 * die inside the probe with an uncaught RangeError).
 *
 * Then, on wasm, the activations are measured, not guessed: one forward/backward under `tf.profile` at `probeSize`
 * pairs and one at twice that give a fixed part (weight-sized gradients kept per GRU time step, for instance) and
 * a per-pair part, extrapolated to the batch size. Scaling a single probe would multiply the fixed part too and
 * refuse batch sizes that fit. A probe that runs out of memory is a refusal too, never a crash.
 *
 * The probe leaves the model as it found it (buffers such as BatchNorm statistics are restored) and draws only
 * from its own random stream.
 * @returns the estimated peak of live tensor bytes of one step
 */
export async function assertStepFits(ctx: StepContext, batch: HostBatch, batchSize: number, rng: Rng, limitBytes?: number, probeSize = 4): Promise<number> {
  const limit = limitBytes ?? tensorMemoryLimit();
  const where = tf.getBackend() === 'wasm' ? "the wasm heap's safe limit" : "this machine's memory";
  const trainable = ctx.params.filter((p) => p.trainable);
  const weightBytes = trainable.reduce((n, p) => n + 4 * p.variable.size, 0);
  const inputBytes = Math.ceil((hostBatchBytes(batch) * batchSize) / Math.max(1, batch.captions.length));
  const live = tf.memory().numBytes;
  const floor = live + 4 * weightBytes + inputBytes;
  if (floor > limit) {
    throw new UsageError(
      `the training step needs at least ${formatBytes(floor)} before any activation — ${formatBytes(live)} live (weights and buffers), ` +
        `${formatBytes(4 * weightBytes)} for gradients, clipped gradients and the optimizer's two moments of ${formatBytes(weightBytes)} ` +
        `of trainable weights, ${formatBytes(inputBytes)} of inputs at train.batchSize=${batchSize} — and ${where} is ${formatBytes(limit)}. ` +
        'The model is too large here: lower its widths (embedDim, hidden sizes).',
    );
  }
  if (tf.getBackend() !== 'wasm') return floor;
  // Probes of at least two pairs (BatchNorm in training needs two values per channel); a batch too small for two
  // probes is measured once, whole, and scaled as if it were all per-pair memory.
  const pairs = batch.captions.length;
  const small = pairs < 4 ? pairs : Math.max(2, Math.min(probeSize, Math.floor(pairs / 2)));
  let fixed = 0;
  let perPair: number;
  try {
    const peakSmall = await probePeakBytes(ctx, batch, small, rng);
    if (pairs < 4) perPair = peakSmall / small;
    else {
      const peakLarge = await probePeakBytes(ctx, batch, 2 * small, rng);
      perPair = Math.max(0, (peakLarge - peakSmall) / small);
      fixed = Math.max(0, peakSmall - perPair * small);
    }
  } catch (error) {
    if (!isOutOfMemory(error)) throw error;
    throw new UsageError(
      `the training step does not fit: a probe of ${pairs < 4 ? small : 2 * small} pairs already ran out of tensor memory (${(error as Error).message}); ` +
        "lower the model's widths or train.batchSize.",
    );
  }
  const estimate = Math.ceil(fixed + perPair * batchSize) + 4 * weightBytes;
  try {
    assertAllocationFits(
      estimate,
      `the training step at train.batchSize=${batchSize} (about ${(estimate / MIB).toFixed(0)} MiB, measured at batches of ${pairs < 4 ? small : `${small} and ${2 * small}`})`,
      limit,
    );
  } catch (error) {
    throw new UsageError(`${(error as Error).message} Lower train.batchSize.`);
  }
  return estimate;
}

/** Whether an error is the wasm heap or the JS heap refusing memory (a failed grow, a typed array too large). */
function isOutOfMemory(error: unknown): boolean {
  if (!(error instanceof Error) || /call stack/i.test(error.message)) return false;
  return /out of memory|memory access out of bounds|Cannot allocate|Array buffer allocation failed|Invalid typed array length|WebAssembly\.Memory/i.test(
    error.message,
  );
}

/** Bytes of a host batch's image-side arrays (what the step uploads). */
function hostBatchBytes(batch: HostBatch): number {
  const { images } = batch;
  const arrays = [images.regions, images.pixels, images.boxes, images.segmentation?.classGrid, images.segmentation?.labelMap, images.segmentation?.categories];
  return arrays.reduce((n, a) => n + (a ? a.data.byteLength : 0), 0);
}

/** Peak bytes above the live set of one forward/backward on the first `size` pairs; the model is left unchanged. */
async function probePeakBytes(ctx: StepContext, batch: HostBatch, size: number, rng: Rng): Promise<number> {
  const buffers = ctx.params.filter((p) => !p.trainable).map((p) => ({ p, saved: p.variable.clone() }));
  const inputs = imageInputsFromHost(sliceImages(batch, size));
  const trainable = ctx.params.filter((p) => p.trainable);
  const before = tf.memory().numBytes;
  let peak: number;
  try {
    peak = peakBytesDuring(() => {
      const mode = { training: true, rng: rng.fork('memory-probe') };
      const { value, grads } = tf.variableGrads(
        () => ctx.loss.compute(ctx.imageEncoder.encode(inputs, mode), ctx.textEncoder.encode(batch.captions.slice(0, size), mode), { epoch: 0, step: 0 }),
        trainable.map((p) => p.variable),
      );
      tf.dispose([value, ...Object.values(grads)]);
    });
  } finally {
    disposeImageInputs(inputs);
    for (const { p, saved } of buffers) {
      p.variable.assign(saved);
      saved.dispose();
    }
  }
  return Math.max(0, peak - before);
}

/**
 * The most live tensor bytes while `run` runs, from the engine's per-kernel snapshots — what `tf.profile` reports as
 * `peakBytes`, but folded in a loop: `tf.profile` spreads every kernel's snapshot into one `Math.max` call, which
 * overflows the stack past about a hundred thousand kernels (a CNN backbone on 256-pixel images gets there).
 */
function peakBytesDuring(run: () => void): number {
  const { state } = tf.engine();
  const wasProfiling = state.profiling;
  const previous = state.activeProfile.kernels;
  state.activeProfile.kernels = [];
  state.profiling = true;
  let peak = state.numBytes;
  try {
    run();
    for (const kernel of state.activeProfile.kernels) if (kernel.totalBytesSnapshot > peak) peak = kernel.totalBytesSnapshot;
  } finally {
    state.profiling = wasProfiling;
    state.activeProfile.kernels = previous;
  }
  return peak;
}

/** The first `size` pairs of a host batch (image-side arrays cut along their first axis). */
function sliceImages(batch: HostBatch, size: number): HostBatch['images'] {
  const cut = <T extends { data: Float32Array; shape: readonly number[] }>(a: T | undefined) => {
    if (!a) return undefined;
    const row = a.data.length / a.shape[0];
    return { data: a.data.subarray(0, size * row), shape: [size, ...a.shape.slice(1)] };
  };
  const { images } = batch;
  return {
    indices: images.indices.slice(0, size),
    regions: cut(images.regions),
    regionLengths: images.regionLengths?.subarray(0, size),
    pixels: cut(images.pixels),
    boxes: cut(images.boxes),
    segmentation: images.segmentation && {
      classGrid: cut(images.segmentation.classGrid)!,
      labelMap: cut(images.segmentation.labelMap)!,
      categories: cut(images.segmentation.categories)!,
    },
  };
}

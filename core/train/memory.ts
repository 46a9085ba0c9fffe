import { assertAllocationFits } from '../backend/memory-guard';
import { tf } from '../backend/tf';
import type { Rng } from '../contracts/services';
import { UsageError } from '../errors';
import { disposeImageInputs, imageInputsFromHost } from './inputs';
import type { HostBatch } from './sampler';
import type { StepContext } from './step';

const MIB = 1024 ** 2;

/**
 * Refuses, on wasm, a batch size whose training step would take live tensor memory past the safe heap limit
 * (past it the wasm heap corrupts tensors silently). The step's working set is measured, not guessed: one
 * forward/backward under `tf.profile` at `probeSize` pairs and one at twice that give a fixed part (weight-sized
 * gradients kept per GRU time step, for instance) and a per-pair part, extrapolated to the batch size, plus four
 * copies of the trainable weights (gradients, clipped gradients, two Adam moments). Scaling a single probe would
 * multiply the fixed part too and refuse batch sizes that fit.
 *
 * The probe leaves the model as it found it (buffers such as BatchNorm statistics are restored) and draws only
 * from its own random stream. A no-op on other backends.
 */
export async function assertStepFits(ctx: StepContext, batch: HostBatch, batchSize: number, rng: Rng, limitBytes?: number, probeSize = 4): Promise<number> {
  if (tf.getBackend() !== 'wasm') return 0;
  const small = Math.min(probeSize, Math.floor(batch.captions.length / 2));
  const [peakSmall, peakLarge] = [await probePeakBytes(ctx, batch, small, rng), await probePeakBytes(ctx, batch, 2 * small, rng)];
  const perPair = Math.max(0, (peakLarge - peakSmall) / small);
  const fixed = Math.max(0, peakSmall - perPair * small);
  const trainable = ctx.params.filter((p) => p.trainable);
  const weights = trainable.reduce((n, p) => n + 4 * p.variable.size, 0);
  const estimate = Math.ceil(fixed + perPair * batchSize) + 4 * weights;
  try {
    assertAllocationFits(
      estimate,
      `the training step at train.batchSize=${batchSize} (about ${(estimate / MIB).toFixed(0)} MiB, measured at batches ${small} and ${2 * small})`,
      limitBytes,
    );
  } catch (error) {
    throw new UsageError(`${(error as Error).message} Lower train.batchSize.`);
  }
  return estimate;
}

/** Peak bytes above the live set of one forward/backward on the first `size` pairs; the model is left unchanged. */
async function probePeakBytes(ctx: StepContext, batch: HostBatch, size: number, rng: Rng): Promise<number> {
  const buffers = ctx.params.filter((p) => !p.trainable).map((p) => ({ p, saved: p.variable.clone() }));
  const inputs = imageInputsFromHost(sliceImages(batch, size));
  const trainable = ctx.params.filter((p) => p.trainable);
  const before = tf.memory().numBytes;
  let peak: number;
  try {
    const profile = await tf.profile(() => {
      const mode = { training: true, rng: rng.fork('memory-probe') };
      const { value, grads } = tf.variableGrads(
        () => ctx.loss.compute(ctx.imageEncoder.encode(inputs, mode), ctx.textEncoder.encode(batch.captions.slice(0, size), mode), { epoch: 0, step: 0 }),
        trainable.map((p) => p.variable),
      );
      tf.dispose([value, ...Object.values(grads)]);
    });
    peak = profile.peakBytes;
  } finally {
    disposeImageInputs(inputs);
    for (const { p, saved } of buffers) {
      p.variable.assign(saved);
      saved.dispose();
    }
  }
  return Math.max(0, peak - before);
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

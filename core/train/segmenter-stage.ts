import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../backend/tf';
import type { DatasetSplit } from '../contracts/dataset';
import type { Segmenter } from '../contracts/image';
import type { NamedParameter } from '../contracts/module';
import type { BackendInfo, Logger, Rng, RunContext } from '../contracts/services';
import type { ExperimentTracker, TrackedRun } from '../contracts/tracker';
import type { Optimizer, Schedule } from '../contracts/training';
import { RunFailure, UsageError } from '../errors';
import { clipByGlobalNorm } from '../nn/clip';
import type { RootSettingsValue } from '../recipe/root';
import { loadCheckpoint, saveCheckpoint, type CheckpointState } from './checkpoint';
import { disposeImageInputs, imageInputsFromHost } from './inputs';
import { parameterGroups } from './parameters';
import { ProgressReporter } from './progress';
import { batchesOf, epochOrder } from './sampler';
import { openTrackedRun } from './tracking';

/** The plugins of a segmenter stage (`stage: segmenter`): a data set with label maps, the segmenter, its optimizer. */
export interface SegmenterStageParts {
  readonly dataset: { open(split: string): Promise<DatasetSplit> };
  readonly segmenter: Segmenter;
  readonly optimizer: Optimizer;
  readonly schedule: Schedule | null;
  readonly tracker: ExperimentTracker | null;
}

/** Pixel accuracy, mean IoU over the classes that occur (in truth or prediction), per-class IoU, and the majority-class baseline. */
export interface SegmentationMetrics {
  readonly pixelAccuracy: number;
  readonly meanIoU: number;
  readonly classIoU: ReadonlyArray<number | null>;
  /** Accuracy of labelling every pixel with the most frequent true class. */
  readonly majorityAccuracy: number;
  readonly pixels: number;
}

export interface SegmenterStageResult {
  readonly epochLosses: number[];
  readonly validation: SegmentationMetrics[];
  readonly test: SegmentationMetrics;
  readonly checkpoint: string;
  readonly seconds: number;
}

/**
 * The segmenter stage: trains a segmenter with weights (one that has `pixelLogits`) on the data set's ground-truth
 * label maps with pixel-wise cross-entropy, images shuffled per epoch, global-norm clipping and the recipe's
 * optimizer and schedule. After each epoch it measures pixel accuracy and mIoU on the first `validationImages` of
 * the validation split and keeps the best (by mIoU) as `checkpoints/best.safetensors`, the weights a retrieval
 * recipe then loads (`segmenter: {type: learned, args: {checkpoint: RUN_DIR}}`). The best weights are finally
 * measured on `evaluate.split` and written to `evaluation.json`.
 *
 * Checkpoint tensor names are the segmenter's own (`stem.conv.weight`), not prefixed by a run block.
 */
export async function trainSegmenterStage(
  parts: SegmenterStageParts,
  settings: Pick<RootSettingsValue, 'train' | 'evaluate'>,
  context: RunContext,
  rng: Rng,
  backend: BackendInfo,
  runName: string,
  logger: Logger,
): Promise<SegmenterStageResult> {
  const { segmenter } = parts;
  if (!segmenter.pixelLogits) throw new UsageError('stage: segmenter needs a segmenter with weights (one that gives pixel logits, e.g. type: learned)');
  const tracked = parts.tracker ? await openTrackedRun(parts.tracker, context, runName, backend) : null;
  let status: 'FINISHED' | 'FAILED' = 'FAILED';
  try {
    const result = await train(parts, settings, context, rng, logger, tracked);
    status = 'FINISHED';
    return result;
  } finally {
    if (tracked) await tracked.finish(status);
  }
}

async function train(
  parts: SegmenterStageParts,
  { train: t, evaluate }: Pick<RootSettingsValue, 'train' | 'evaluate'>,
  context: RunContext,
  rng: Rng,
  logger: Logger,
  tracked: TrackedRun | null,
): Promise<SegmenterStageResult> {
  const started = Date.now();
  const { segmenter, optimizer, schedule } = parts;
  const params = segmenter.parameters();
  const trainable = params.filter((p) => p.trainable);
  if (trainable.length === 0)
    throw new UsageError('stage: segmenter: the segmenter has no trainable weights (freeze: false when continuing from a checkpoint)');
  const checkpointDir = join(context.runDir, 'checkpoints');
  mkdirSync(checkpointDir, { recursive: true });
  const best = join(checkpointDir, 'best.safetensors');
  const last = join(checkpointDir, 'last.safetensors');

  const split = await parts.dataset.open(t.split);
  const stepsPerEpoch = Math.floor(split.numImages / t.batchSize);
  if (t.epochs > 0 && stepsPerEpoch === 0) throw new RunFailure(`train.batchSize ${t.batchSize} exceeds the ${split.numImages} images of split '${t.split}'`);
  logger.info(`segmenter stage: ${t.epochs} epochs × ${stepsPerEpoch} steps of ${t.batchSize} images on '${t.split}'`);
  const progress = new ProgressReporter(logger, stepsPerEpoch * t.epochs, t.batchSize);
  const epochLosses: number[] = [];
  const validation: SegmentationMetrics[] = [];
  let bestIoU = -1;
  let step = 0;
  const state = (epoch: number): CheckpointState => ({
    step,
    epoch,
    optimizerStep: 0,
    rng: rng.state(),
    bestRsum: null,
    recipeHash: context.recipeHash,
    seed: context.seed,
  });

  for (let epoch = 0; epoch < t.epochs; epoch++) {
    const forward = rng.fork(`forward-${epoch}`);
    let total = 0;
    let window = 0;
    let windowSteps = 0;
    for (const batch of batchesOf(epochOrder(split.numImages, rng, epoch), t.batchSize)) {
      const inputs = imageInputsFromHost(await split.loadImages(batch));
      let loss: number;
      try {
        loss = segmenterStep(segmenter, inputs, trainable, optimizer, schedule, t.gradClip, { epoch, step }, forward);
      } finally {
        disposeImageInputs(inputs);
      }
      total += loss;
      window += loss;
      windowSteps++;
      if ((step + 1) % t.logEvery === 0 || step + 1 === stepsPerEpoch * t.epochs) {
        const lr = [...optimizer.baseLearningRates(parameterGroups(params)).values()][0] * (schedule?.multiplier({ epoch, step }) ?? 1);
        progress.report(epoch, t.epochs, step, window / windowSteps, lr);
        await tracked?.logMetrics([{ key: 'train/loss', value: window / windowSteps, step: step + 1 }]);
        window = 0;
        windowSteps = 0;
      }
      step++;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    epochLosses.push(total / stepsPerEpoch);
    const valSplit = await parts.dataset.open(t.validationSplit);
    const metrics = await measureSegmenter(segmenter, valSplit, Math.min(t.validationImages, valSplit.numImages), t.batchSize, rng.fork(`validate-${epoch}`));
    validation.push(metrics);
    logger.info(
      `epoch ${epoch + 1}/${t.epochs}: mean loss ${epochLosses[epoch].toFixed(4)}, validation pixel accuracy ${(100 * metrics.pixelAccuracy).toFixed(2)} %, mIoU ${(100 * metrics.meanIoU).toFixed(2)} %`,
    );
    await tracked?.logMetrics([
      { key: 'val/pixel_accuracy', value: metrics.pixelAccuracy, step: epoch + 1 },
      { key: 'val/miou', value: metrics.meanIoU, step: epoch + 1 },
    ]);
    if (metrics.meanIoU > bestIoU) {
      bestIoU = metrics.meanIoU;
      saveCheckpoint(best, params, optimizer, state(epoch + 1));
    }
    saveCheckpoint(last, params, optimizer, state(epoch + 1));
  }

  if (t.epochs > 0) loadCheckpoint(best, params);
  else saveCheckpoint(best, params, optimizer, state(0));
  const testSplit = await parts.dataset.open(evaluate.split);
  const test = await measureSegmenter(segmenter, testSplit, testSplit.numImages, t.batchSize, rng.fork('test'));
  const seconds = (Date.now() - started) / 1000;
  logger.info(
    `test on '${testSplit.name}' (${testSplit.numImages} images): pixel accuracy ${(100 * test.pixelAccuracy).toFixed(2)} % ` +
      `(majority class ${(100 * test.majorityAccuracy).toFixed(2)} %), mIoU ${(100 * test.meanIoU).toFixed(2)} %; ${seconds.toFixed(0)} s in all`,
  );
  const reportPath = join(context.runDir, 'evaluation.json');
  writeFileSync(reportPath, `${JSON.stringify({ stage: 'segmenter', split: evaluate.split, test, validation, epochLosses, seconds }, null, 2)}\n`);
  if (tracked) {
    await tracked.logMetrics([
      { key: 'test/pixel_accuracy', value: test.pixelAccuracy, step: t.epochs },
      { key: 'test/miou', value: test.meanIoU, step: t.epochs },
      { key: 'test/majority_accuracy', value: test.majorityAccuracy, step: t.epochs },
    ]);
    await tracked.logArtifact(reportPath);
    await tracked.logArtifact(join(context.runDir, 'recipe.yaml'));
    await tracked.logArtifact(best, 'checkpoints');
  }
  return { epochLosses, validation, test, checkpoint: best, seconds };
}

/**
 * One step of pixel-wise cross-entropy `−mean log softmax(logits)[label]` over every pixel of the batch, clipped to
 * `gradClip`, applied with the schedule's multiplier. Returns the loss; every tensor it makes is released.
 */
export function segmenterStep(
  segmenter: Segmenter,
  inputs: ReturnType<typeof imageInputsFromHost>,
  trainable: readonly NamedParameter[],
  optimizer: Optimizer,
  schedule: Schedule | null,
  gradClip: number,
  progress: { epoch: number; step: number },
  rng: Rng,
): number {
  const labels = inputs.segmentation?.labelMap;
  if (labels == null)
    throw new UsageError('stage: segmenter needs ground-truth label maps (ImageInputs.segmentation.labelMap), which the data set does not give');
  const nameOf = new Map(trainable.map((p) => [p.variable.name, p.name]));
  const { value, grads } = tf.variableGrads(
    () => pixelCrossEntropy(segmenter.pixelLogits!(inputs, { training: true, rng }), labels),
    trainable.map((p) => p.variable),
  );
  const named = new Map(Object.entries(grads).map(([variable, g]) => [nameOf.get(variable)!, g]));
  const clipped = clipByGlobalNorm(named, gradClip);
  try {
    const loss = value.dataSync()[0];
    if (!Number.isFinite(loss) || !Number.isFinite(clipped.norm))
      throw new RunFailure(`segmenter training diverged at step ${progress.step + 1} (loss ${loss}, gradient norm ${clipped.norm})`);
    const multiplier = schedule?.multiplier(progress) ?? 1;
    const rates = new Map([...optimizer.baseLearningRates(parameterGroups(trainable))].map(([group, lr]) => [group, lr * multiplier]));
    optimizer.apply(trainable, clipped.grads, rates);
    return loss;
  } finally {
    value.dispose();
    tf.dispose(Object.values(grads));
    tf.dispose([...clipped.grads.values()]);
  }
}

/**
 * Mean pixel-wise cross-entropy.
 * @param logits `[B, m, m, C]`
 * @param labels `[B, m, m]` class ids as floats
 */
export function pixelCrossEntropy(logits: tf.Tensor4D, labels: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[3];
    const oneHot = tf.oneHot(labels.toInt(), classes);
    return tf.logSoftmax(logits).mul(oneHot).sum(-1).mean().neg() as tf.Scalar;
  });
}

/** Confusion counts of the arg-max labels over the first `count` images of a split, in evaluation mode. */
export async function measureSegmenter(segmenter: Segmenter, split: DatasetSplit, count: number, chunk: number, rng: Rng): Promise<SegmentationMetrics> {
  let confusion: Float64Array | null = null;
  let classes = 0;
  for (let start = 0; start < count; start += chunk) {
    const indices = Array.from({ length: Math.min(chunk, count - start) }, (_, i) => start + i);
    const inputs = imageInputsFromHost(await split.loadImages(indices));
    try {
      const labels = inputs.segmentation?.labelMap;
      if (labels == null) throw new UsageError(`split '${split.name}' has no ground-truth label maps to measure the segmenter on`);
      const { predicted, truth, numClasses } = tf.tidy(() => {
        const logits = segmenter.pixelLogits!(inputs, { training: false, rng });
        return { predicted: logits.argMax(3).dataSync() as Int32Array, truth: labels.dataSync() as Float32Array, numClasses: logits.shape[3] };
      });
      if (confusion === null) {
        classes = numClasses;
        confusion = new Float64Array(classes * classes);
      }
      for (let p = 0; p < predicted.length; p++) confusion[truth[p] * classes + predicted[p]]++;
    } finally {
      disposeImageInputs(inputs);
    }
  }
  return segmentationMetrics(confusion ?? new Float64Array(1), Math.max(classes, 1));
}

/** Metrics from a `[C, C]` confusion matrix (rows: true class, columns: predicted). */
export function segmentationMetrics(confusion: Float64Array, classes: number): SegmentationMetrics {
  let correct = 0;
  let total = 0;
  let largestRow = 0;
  const classIoU: Array<number | null> = [];
  for (let c = 0; c < classes; c++) {
    let row = 0;
    let column = 0;
    for (let k = 0; k < classes; k++) {
      row += confusion[c * classes + k];
      column += confusion[k * classes + c];
    }
    const tp = confusion[c * classes + c];
    correct += tp;
    total += row;
    largestRow = Math.max(largestRow, row);
    const union = row + column - tp;
    classIoU.push(union > 0 ? tp / union : null);
  }
  const present = classIoU.filter((v): v is number => v !== null);
  return {
    pixelAccuracy: total > 0 ? correct / total : 0,
    meanIoU: present.length > 0 ? present.reduce((s, v) => s + v, 0) / present.length : 0,
    classIoU,
    majorityAccuracy: total > 0 ? largestRow / total : 0,
    pixels: total,
  };
}

import { tf } from '../backend/tf';
import type { HostImages } from '../contracts/data';
import type { DatasetSplit } from '../contracts/dataset';
import type { Segmenter } from '../contracts/image';
import type { NamedParameter } from '../contracts/module';
import type { Rng } from '../contracts/services';
import type { ExperimentTracker } from '../contracts/tracker';
import type { Optimizer, Schedule } from '../contracts/training';
import { RunFailure, UsageError } from '../errors';
import { clipByGlobalNorm } from '../nn/clip';
import type { RecipeSettings } from '../recipe/root';
import { disposeImageInputs, imageInputsFromHost } from './inputs';
import { runTrainingLoop, type LoopOptions, type LoopResult, type Measurement, type TrainingTask } from './loop';
import { parameterGroups } from './parameters';

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

/**
 * The segmenter stage: trains a segmenter with weights (one that has `pixelLogits`) on the data set's ground-truth
 * label maps with pixel-wise cross-entropy, images shuffled per epoch, global-norm clipping and the recipe's
 * optimizer and schedule — the shared training loop (`core/train/loop.ts`) with this stage's batches, step and
 * measurements. After each epoch it measures pixel accuracy and mIoU on the first `validationImages` of the
 * validation split; mIoU selects `checkpoints/best.safetensors`, the weights a retrieval recipe then loads
 * (`segmenter: {type: learned, args: {checkpoint: RUN_DIR}}`). The best weights are finally measured on
 * `evaluate.split` (evaluation.json, with the majority-class accuracy beside them).
 *
 * Checkpoint tensor names are the segmenter's own (`stem.conv.weight`), not prefixed by a run block.
 */
export async function trainSegmenterStage(parts: SegmenterStageParts, options: Omit<LoopOptions, 'tracker'>): Promise<LoopResult> {
  const { segmenter } = parts;
  if (!segmenter.pixelLogits) throw new UsageError('stage: segmenter needs a segmenter with weights (one that gives pixel logits, e.g. type: learned)');
  return runTrainingLoop({ ...options, tracker: parts.tracker }, () => segmenterTask(parts, options.settings));
}

async function segmenterTask(parts: SegmenterStageParts, settings: Pick<RecipeSettings, 'train' | 'evaluate'>): Promise<TrainingTask<HostImages>> {
  const { segmenter, optimizer, schedule } = parts;
  const { train: t, evaluate } = settings;
  const params = segmenter.parameters();
  const trainable = params.filter((p) => p.trainable);
  if (trainable.length === 0)
    throw new UsageError('stage: segmenter: the segmenter has no trainable weights (freeze: false when continuing from a checkpoint)');
  const split = await parts.dataset.open(t.split);
  const measure = async (name: string, count: number | null, rng: Rng): Promise<Measurement> => {
    const data = await parts.dataset.open(name);
    const images = count === null ? data.numImages : Math.min(count, data.numImages);
    const m = await measureSegmenter(segmenter, data, images, t.batchSize, rng);
    return {
      metrics: { pixel_accuracy: m.pixelAccuracy, miou: m.meanIoU, majority_accuracy: m.majorityAccuracy },
      score: m.meanIoU,
      report: m,
      summary:
        `'${data.name}' (${images} images): pixel accuracy ${(100 * m.pixelAccuracy).toFixed(2)} % ` +
        `(majority class ${(100 * m.majorityAccuracy).toFixed(2)} %), mIoU ${(100 * m.meanIoU).toFixed(2)} %`,
    };
  };
  return {
    stage: 'segmenter',
    params,
    optimizer,
    items: { count: split.numImages, name: 'images', split: t.split, images: split.numImages },
    load: (indices) => split.loadImages(indices),
    step(images, progress, rng) {
      const inputs = imageInputsFromHost(images);
      try {
        const loss = segmenterStep(segmenter, inputs, trainable, optimizer, schedule, t.gradClip, progress, rng);
        const learningRate = [...optimizer.baseLearningRates(parameterGroups(params)).values()][0] * (schedule?.multiplier(progress) ?? 1);
        return { loss, learningRate };
      } finally {
        disposeImageInputs(inputs);
      }
    },
    validate: (_epoch, rng) => measure(t.validationSplit, t.validationImages, rng),
    test: (rng) => measure(evaluate.split, null, rng),
  };
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

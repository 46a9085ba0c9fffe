import type { BuiltRun } from '../build/build-run';
import type { EvaluationReport } from '../contracts/evaluation';
import type { Rng } from '../contracts/services';
import type { RecipeSettings } from '../recipe/root';
import { encodeSplit } from './encode';
import { disposeImageInputs, imageInputsFromHost } from './inputs';
import { runTrainingLoop, type LoopOptions, type LoopResult, type Measurement, type ResumePoint, type TrainingTask } from './loop';
import { assertStepFits } from './memory';
import { runParameters } from './parameters';
import { captionBatchLoader, type HostBatch } from './sampler';
import { trainStep, type StepContext } from './step';

export interface TrainOptions extends Omit<LoopOptions, 'tracker'> {
  readonly built: BuiltRun;
}

/** What a retrieval run's training gives: the loop's result with its reports typed. */
export interface TrainResult extends Omit<LoopResult, 'validation' | 'test'> {
  /** Validation report of every epoch. */
  readonly validation: readonly EvaluationReport[];
  /** Final evaluation on `evaluate.split` with the best weights (null without an evaluator). */
  readonly test: EvaluationReport | null;
  /** The split `test` was measured on (null without an evaluator). */
  readonly testSplit: { readonly name: string; readonly numImages: number } | null;
}

/**
 * Trains and evaluates a retrieval model: epochs of shuffled caption batches, validation after each epoch (rSum
 * selects the best weights), the final evaluation of the best weights — the shared training loop
 * (`core/train/loop.ts`) with the retrieval stage's batches, step and measurements.
 */
export async function trainAndEvaluate(options: TrainOptions): Promise<TrainResult> {
  const tested: { split: TrainResult['testSplit'] } = { split: null };
  const result = await runTrainingLoop({ ...options, tracker: options.built.tracker }, () =>
    retrievalTask(options.built, options.settings, options.rng, options.resume, tested),
  );
  return {
    ...result,
    validation: result.validation as EvaluationReport[],
    test: (result.test?.report as EvaluationReport | undefined) ?? null,
    testSplit: tested.split,
  };
}

/**
 * The retrieval stage: the text encoder's vocabulary restored (resume) or built from the training captions, every
 * weight of the run, caption batches with their images, the memory check on wasm, one step of both encoders and
 * the loss, and the evaluator on the validation (protocol `all`, first `validationImages`) and final splits.
 */
async function retrievalTask(
  built: BuiltRun,
  settings: Pick<RecipeSettings, 'train' | 'evaluate'>,
  rng: Rng,
  resume: ResumePoint | undefined,
  tested: { split: TrainResult['testSplit'] },
): Promise<TrainingTask<HostBatch>> {
  const { train, evaluate } = settings;
  const trainSplit = await built.dataset.open(train.split);
  const tokenizer = resume?.state.tokenizer;
  if (tokenizer !== undefined && built.textEncoder.loadTokenizerState) built.textEncoder.loadTokenizerState(tokenizer);
  else built.textEncoder.prepare?.(trainSplit.captions());
  const params = runParameters(built);
  const ctx: StepContext = { ...built, params, gradClip: train.gradClip };
  const { loss, evaluator } = built;
  return {
    stage: 'retrieval',
    params,
    optimizer: built.optimizer,
    items: { count: 5 * trainSplit.numImages, name: 'captions', split: train.split, images: trainSplit.numImages },
    load: captionBatchLoader(trainSplit),
    beforeFirstStep: async (batch) => {
      await assertStepFits(ctx, batch, train.batchSize, rng);
    },
    step(batch, progress, forward) {
      const inputs = imageInputsFromHost(batch.images);
      try {
        const result = trainStep(ctx, inputs, batch.captions, progress, forward);
        return {
          loss: result.loss,
          learningRate: result.learningRates.get('default') ?? [...result.learningRates.values()][0],
          diagnostics: { grad_norm: result.gradNorm, ...result.embeddings },
        };
      } finally {
        disposeImageInputs(inputs);
      }
    },
    lossKey: loss.objective ? (progress) => `train/loss_${loss.objective!(progress)}` : undefined,
    async validate(_epoch, validateRng) {
      if (!evaluator) return null;
      const split = await built.dataset.open(train.validationSplit);
      const count = Math.min(train.validationImages, split.numImages);
      const report = await evaluator.evaluate(await encodeSplit(split, count, built, validateRng), { protocol: 'all' });
      return measurement(report, `'${split.name}' (${count} images)`);
    },
    async test(testRng) {
      if (!evaluator) return null;
      const split = await built.dataset.open(evaluate.split);
      const report = await evaluator.evaluate(await encodeSplit(split, split.numImages, built, testRng));
      tested.split = { name: split.name, numImages: split.numImages };
      return measurement(report, `${split.numImages} images, ${report.protocol}`);
    },
    checkpointExtras: () => ({ tokenizer: built.textEncoder.tokenizerState?.() }),
  };
}

/** rSum selects the best weights. */
function measurement(report: EvaluationReport, about: string): Measurement {
  return { metrics: report.metrics, score: report.metrics.rsum, report, summary: `${about}: ${formatMetrics(report.metrics)}` };
}

function formatMetrics(metrics: Readonly<Record<string, number>>): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(2)}`)
    .join(', ');
}

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvaluationReport } from '../contracts/evaluation';
import type { BackendInfo, Logger, Rng, RunContext } from '../contracts/services';
import type { RunStatus, RunView, TrackedRun } from '../contracts/tracker';
import { RunFailure } from '../errors';
import type { RootSettingsValue } from '../recipe/root';
import type { BuiltRun } from '../run/build-run';
import type { AtomicWriteHooks } from '../io/atomic-write';
import { loadCheckpoint, readCheckpointState, saveCheckpoint, type CheckpointState } from './checkpoint';
import { encodeSplit } from './encode';
import { disposeImageInputs, imageInputsFromHost } from './inputs';
import { assertStepFits } from './memory';
import { MetricWindow } from './metric-window';
import { runParameters } from './parameters';
import { ProgressReporter } from './progress';
import { batchesOf, epochOrder, prefetchBatches } from './sampler';
import { trainStep, type StepContext } from './step';
import { onTerminationSignal, openTrackedRun } from './tracking';

export interface TrainOptions {
  readonly built: BuiltRun;
  readonly settings: Pick<RootSettingsValue, 'train' | 'evaluate'>;
  readonly context: RunContext;
  /** The run's random stream (epoch orders and forward passes fork from it). */
  readonly rng: Rng;
  readonly backend: BackendInfo;
  readonly runName: string;
  readonly logger: Logger;
  /** Continue from this checkpoint (a run's `last.safetensors`): weights, optimizer, RNG, step and epoch. */
  readonly resumeFrom?: string;
  /** Test hooks: checkpoint writes (to simulate a crash before the rename) and a callback after every step. */
  readonly hooks?: { readonly checkpointWrite?: AtomicWriteHooks; readonly afterStep?: (step: number, loss: number) => void };
}

export interface TrainResult {
  /** Mean training loss of each epoch. */
  readonly epochLosses: number[];
  /** Validation report after each epoch (empty without an evaluator). */
  readonly validation: EvaluationReport[];
  readonly bestRsum: number | null;
  /** Final evaluation on `evaluate.split` with the best weights (null without an evaluator). */
  readonly test: EvaluationReport | null;
  /** The split `test` was measured on. */
  readonly testSplit: { readonly name: string; readonly numImages: number } | null;
  /** Where the run was tracked (null without a tracker). */
  readonly tracking: RunTracking | null;
  readonly checkpoints: { readonly best: string; readonly last: string };
  readonly steps: number;
}

/** The tracked run's ids and where to look at it, read once the run is finished (and delivered, when it could be). */
export interface RunTracking {
  readonly runId: string;
  readonly experimentId: string;
  readonly remoteRunId?: string;
  readonly view?: RunView;
}

/**
 * The training and evaluation engine: epochs of shuffled caption batches, validation after each epoch, `best`
 * (by validation rSum) and `last` checkpoints, final evaluation of the best weights, and tracking of all of it.
 */
export async function trainAndEvaluate(options: TrainOptions): Promise<TrainResult> {
  const { built, context, logger } = options;
  const resumed = options.resumeFrom ? readCheckpointState(options.resumeFrom) : null;
  const tracked = built.tracker
    ? await openTrackedRun(built.tracker, context, options.runName, options.backend, resumed?.trackerRunId, resumed?.recipeHash)
    : null;
  let signal: NodeJS.Signals | null = null;
  const removeHandlers = onTerminationSignal((s) => {
    signal = s;
    logger.warn(`${s} received: stopping after the current step`);
  });
  let status: Exclude<RunStatus, 'RUNNING'> = 'FAILED';
  let result: Omit<TrainResult, 'tracking'>;
  try {
    result = await train(options, tracked, () => signal);
    status = 'FINISHED';
  } catch (error) {
    if (signal !== null) status = 'KILLED';
    throw error;
  } finally {
    removeHandlers();
    if (tracked) await tracked.finish(status);
  }
  const tracking = tracked ? { runId: tracked.runId, experimentId: tracked.experimentId, remoteRunId: tracked.remoteRunId, view: tracked.view?.() } : null;
  return { ...result, tracking };
}

async function train(options: TrainOptions, tracked: TrackedRun | null, interrupted: () => NodeJS.Signals | null): Promise<Omit<TrainResult, 'tracking'>> {
  const { built, context, logger, rng } = options;
  const { train: settings, evaluate } = options.settings;
  const checkpointDir = join(context.runDir, 'checkpoints');
  mkdirSync(checkpointDir, { recursive: true });
  const checkpoints = { best: join(checkpointDir, 'best.safetensors'), last: join(checkpointDir, 'last.safetensors') };

  const trainSplit = await built.dataset.open(settings.split);
  const resumed = options.resumeFrom ? readCheckpointState(options.resumeFrom) : null;
  if (resumed?.tokenizer !== undefined && built.textEncoder.loadTokenizerState) built.textEncoder.loadTokenizerState(resumed.tokenizer);
  else built.textEncoder.prepare?.(trainSplit.captions());
  const params = runParameters(built);
  const ctx: StepContext = { ...built, params, gradClip: settings.gradClip };
  const stepsPerEpoch = Math.floor((5 * trainSplit.numImages) / settings.batchSize);
  const totalSteps = stepsPerEpoch * settings.epochs;
  if (settings.epochs > 0 && stepsPerEpoch === 0) {
    throw new RunFailure(`train.batchSize ${settings.batchSize} exceeds the ${5 * trainSplit.numImages} captions of split '${settings.split}'`);
  }
  logger.info(
    `training ${settings.epochs} epochs × ${stepsPerEpoch} steps of ${settings.batchSize} captions on '${settings.split}' (${trainSplit.numImages} images)`,
  );

  const state = { step: 0, bestRsum: null as number | null, bestWritten: false, startEpoch: 0 };
  if (options.resumeFrom && resumed) {
    loadCheckpoint(options.resumeFrom, params, built.optimizer);
    rng.restore(resumed.rng);
    Object.assign(state, { step: resumed.step, bestRsum: resumed.bestRsum, bestWritten: existsSync(checkpoints.best), startEpoch: resumed.epoch });
    logger.info(`resuming from ${options.resumeFrom}: ${resumed.epoch} epochs and ${resumed.step} steps done`);
  }
  const checkpointState = (epoch: number): CheckpointState => ({
    step: state.step,
    epoch,
    optimizerStep: 0, // filled from the optimizer by saveCheckpoint
    rng: rng.state(),
    bestRsum: state.bestRsum,
    tokenizer: built.textEncoder.tokenizerState?.(),
    recipeHash: context.recipeHash,
    seed: context.seed,
    // The server's id when the run has reached one: any machine can re-open it from there (the tracker finds a
    // delivered run locally, or mirrors it from the server); the local store's id otherwise.
    ...(tracked ? { trackerRunId: tracked.remoteRunId ?? tracked.runId } : {}),
  });
  const epochLosses: number[] = [];
  const validation: EvaluationReport[] = [];
  const progress = new ProgressReporter(logger, totalSteps, settings.batchSize, state.step);
  let probed = false;

  for (let epoch = state.startEpoch; epoch < settings.epochs; epoch++) {
    const forward = rng.fork(`forward-${epoch}`);
    const batches = batchesOf(epochOrder(5 * trainSplit.numImages, rng, epoch), settings.batchSize);
    let epochLoss = 0;
    const window = new MetricWindow();
    for await (const batch of prefetchBatches(trainSplit, batches)) {
      if (!probed) {
        await assertStepFits(ctx, batch, settings.batchSize, rng);
        probed = true;
      }
      const inputs = imageInputsFromHost(batch.images);
      let result;
      try {
        result = trainStep(ctx, inputs, batch.captions, { epoch, step: state.step }, forward);
      } finally {
        disposeImageInputs(inputs);
      }
      epochLoss += result.loss;
      window.add({ loss: result.loss, grad_norm: result.gradNorm, ...result.embeddings });
      options.hooks?.afterStep?.(state.step, result.loss);
      progress.tick(epoch, settings.epochs, state.step);
      if ((state.step + 1) % settings.logEvery === 0 || state.step + 1 === totalSteps) {
        const lr = result.learningRates.get('default') ?? [...result.learningRates.values()][0];
        progress.report(epoch, settings.epochs, state.step, window.mean('loss'), lr);
        await tracked?.logMetrics([
          ...window.keys().map((key) => ({ key: `train/${key}`, value: window.mean(key), step: state.step + 1 })),
          { key: 'train/grad_norm_max', value: window.max('grad_norm'), step: state.step + 1 },
          { key: 'train/lr', value: lr, step: state.step + 1 },
        ]);
        window.clear();
      }
      state.step++;
      // A step never leaves the microtask queue on its own (data-set promises resolve at once): yield to the
      // event loop so signal handlers and the tracker's background delivery run between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const signal = interrupted();
      if (signal !== null) progress.endLine();
      if (signal !== null)
        throw new RunFailure(`run interrupted by ${signal} at epoch ${epoch + 1}, step ${state.step}; the last checkpoint is ${checkpoints.last}`);
    }
    epochLosses.push(epochLoss / batches.length); // epochs of this process only, when resumed
    progress.endLine();

    if (built.evaluator) {
      const split = await built.dataset.open(settings.validationSplit);
      const count = Math.min(settings.validationImages, split.numImages);
      const report = await built.evaluator.evaluate(await encodeSplit(split, count, built, rng.fork(`validate-${epoch}`)), { protocol: 'all' });
      validation.push(report);
      const rsum = report.metrics.rsum;
      logger.info(`epoch ${epoch + 1} validation on '${split.name}' (${count} images): ${formatMetrics(report.metrics)}`);
      await tracked?.logMetrics(Object.entries(report.metrics).map(([key, value]) => ({ key, value, step: epoch + 1 })));
      if (state.bestRsum === null || rsum > state.bestRsum) {
        state.bestRsum = rsum;
        saveCheckpoint(checkpoints.best, params, built.optimizer, checkpointState(epoch + 1), options.hooks?.checkpointWrite);
        state.bestWritten = true;
      }
    } else {
      // Without an evaluator there is nothing to select on: the latest weights are the best we know.
      saveCheckpoint(checkpoints.best, params, built.optimizer, checkpointState(epoch + 1), options.hooks?.checkpointWrite);
      state.bestWritten = true;
    }
    saveCheckpoint(checkpoints.last, params, built.optimizer, checkpointState(epoch + 1), options.hooks?.checkpointWrite);
    logger.info(`epoch ${epoch + 1}/${settings.epochs}: mean loss ${epochLosses[epochLosses.length - 1].toFixed(4)}, checkpoints in ${checkpointDir}`);
  }

  let test: EvaluationReport | null = null;
  let testSplit: TrainResult['testSplit'] = null;
  if (built.evaluator) {
    if (state.bestWritten) loadCheckpoint(checkpoints.best, params);
    const split = await built.dataset.open(evaluate.split);
    testSplit = { name: split.name, numImages: split.numImages };
    test = await built.evaluator.evaluate(await encodeSplit(split, split.numImages, built, rng.fork('test')));
    logger.info(
      `test on '${split.name}' (${split.numImages} images, ${test.protocol}, ${state.bestWritten ? 'best' : 'initial'} weights): ${formatMetrics(test.metrics)}`,
    );
    const reportPath = join(context.runDir, 'evaluation.json');
    writeFileSync(
      reportPath,
      `${JSON.stringify({ split: evaluate.split, weights: state.bestWritten ? 'best' : 'initial', test, validation, epochLosses }, null, 2)}\n`,
    );
    await tracked?.logMetrics(Object.entries(test.metrics).map(([key, value]) => ({ key: `test/${key}`, value, step: settings.epochs })));
    await tracked?.logArtifact(reportPath);
  } else {
    logger.warn('no evaluator in the recipe: skipped validation and the final evaluation');
  }
  if (tracked) {
    await tracked.logArtifact(join(context.runDir, 'recipe.yaml'));
    if (state.bestWritten) await tracked.logArtifact(checkpoints.best, 'checkpoints');
  }
  return { epochLosses, validation, bestRsum: state.bestRsum, test, testSplit, checkpoints, steps: state.step };
}

function formatMetrics(metrics: Readonly<Record<string, number>>): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(2)}`)
    .join(', ');
}

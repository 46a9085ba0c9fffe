import { mkdirSync, writeFileSync } from 'node:fs';
import type { NamedParameter } from '../contracts/module';
import type { BackendInfo, Logger, Rng, RunContext } from '../contracts/services';
import type { ExperimentTracker, RunStatus, RunView, TrackedRun } from '../contracts/tracker';
import type { Optimizer, TrainingProgress } from '../contracts/training';
import { RunFailure } from '../errors';
import type { AtomicWriteHooks } from '../atomic-write';
import type { RecipeSettings } from '../recipe/root';
import { RunFolder } from '../run-folder';
import { loadCheckpoint, saveCheckpoint, type CheckpointState, type EpochHistory } from './checkpoint';
import { MetricWindow } from './metric-window';
import { ResumableMetrics } from './resumable-metrics';
import { ProgressReporter } from './progress';
import { batchesOf, epochOrder, prefetchBatches } from './sampler';
import { onTerminationSignal, openTrackedRun } from './tracking';

/** A measurement of the model on a split: what is logged, what selects the best weights, what is kept. */
export interface Measurement {
  /** Logged as `val/<key>` after an epoch, `test/<key>` at the end. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Higher is better: the validation score that selects `best` weights. */
  readonly score: number;
  /** The full report, as evaluation.json keeps it. */
  readonly report: unknown;
  /** One line for the log. */
  readonly summary: string;
}

/** What one optimisation step reports to the loop. */
export interface StepOutcome {
  readonly loss: number;
  /** The learning rate the step used (of the first parameter group), for the log and `train/lr`. */
  readonly learningRate: number;
  /**
   * Statistics of the step worth watching (the gradient norm, the batch's embeddings), logged as `train/<key>`:
   * their mean over the logging window, and for `grad_norm` its maximum too (`train/grad_norm_max`).
   */
  readonly diagnostics?: Readonly<Record<string, number>>;
}

/**
 * What a stage brings to the one training loop: its parameters and optimizer, how to load and train on a batch of
 * shuffled items (captions for retrieval, images for a segmenter), and how to measure the model. The loop owns
 * everything else: epochs and shuffling, prefetching, progress, signals, window logging, best/last checkpoints,
 * resumption, the final measurement with the best weights, evaluation.json and tracking.
 */
export interface TrainingTask<Batch> {
  /** `retrieval` or `segmenter`, as evaluation.json names the stage. */
  readonly stage: string;
  /** Every weight a checkpoint holds (trainable or not), named as in checkpoints. */
  readonly params: readonly NamedParameter[];
  readonly optimizer: Optimizer;
  /** Items one epoch shuffles (5N captions, N images) and what they are called in the log. */
  readonly items: { readonly count: number; readonly name: string; readonly split: string; readonly images: number };
  /** Host data of one batch of item indices; the loop requests batch k+1 before training on batch k. */
  load(indices: readonly number[]): Promise<Batch>;
  /** Runs before the first step of this process, on its batch (the memory check). */
  beforeFirstStep?(batch: Batch): Promise<void>;
  /** One optimisation step; throws {@link RunFailure} on a non-finite loss, before any weight changes. */
  step(batch: Batch, progress: TrainingProgress, rng: Rng): StepOutcome;
  /**
   * The training-loss metric's key at `progress`. A loss whose objective changes during training (hinge over all
   * negatives in warm-up, then the hardest) names each objective, so each gets a chart on its own scale.
   */
  lossKey?(progress: TrainingProgress): string;
  /** After each epoch; null when the stage cannot measure (no evaluator): the latest weights then count as best. */
  validate(epoch: number, rng: Rng): Promise<Measurement | null>;
  /** The final measurement, with the best weights loaded; null when the stage cannot measure. */
  test(rng: Rng): Promise<Measurement | null>;
  /** State checkpoints carry besides weights and optimizer (the text encoder's vocabulary). */
  checkpointExtras?(): Pick<CheckpointState, 'tokenizer'>;
}

/** A run folder's last checkpoint and its state, read once by whoever resumes. */
export interface ResumePoint {
  readonly checkpoint: string;
  readonly state: CheckpointState;
}

export interface LoopOptions {
  readonly settings: Pick<RecipeSettings, 'train' | 'evaluate'>;
  readonly context: RunContext;
  readonly tracker: ExperimentTracker | null;
  /** The run's random stream (epoch orders and forward passes fork from it). */
  readonly rng: Rng;
  readonly backend: BackendInfo;
  readonly runName: string;
  readonly logger: Logger;
  /** Continue from this checkpoint: weights, optimizer, RNG, step, epoch, best score and history. */
  readonly resume?: ResumePoint;
  /** Test hooks: checkpoint writes (to simulate a crash before the rename) and a callback after every step. */
  readonly hooks?: { readonly checkpointWrite?: AtomicWriteHooks; readonly afterStep?: (step: number, loss: number) => void };
}

export interface LoopResult {
  /** Mean training loss of every epoch (a resumed run's earlier epochs included). */
  readonly epochLosses: number[];
  /** The validation report of every epoch (a resumed run's earlier epochs included; empty when the stage cannot measure). */
  readonly validation: readonly unknown[];
  readonly bestScore: number | null;
  /** The final measurement with the best weights (null when the stage cannot measure). */
  readonly test: Measurement | null;
  readonly checkpoints: { readonly best: string; readonly last: string };
  readonly steps: number;
  /** The tracked run (null without a tracker). */
  readonly tracked: {
    readonly runId: string;
    readonly experimentId: string;
    readonly remoteRunId?: string;
    readonly location: string;
    /** How to look at the run, read once it is finished (and delivered, when it could be). */
    readonly view?: RunView;
  } | null;
}

/**
 * The training loop of every stage. Opens the tracked run (re-opens it on resume), builds the task — whatever it
 * prepares is inside the run, so a failure there is recorded as FAILED — trains, and closes the run FINISHED,
 * FAILED or, after SIGINT/SIGTERM (honoured between steps), KILLED.
 */
export async function runTrainingLoop<Batch>(options: LoopOptions, makeTask: () => Promise<TrainingTask<Batch>>): Promise<LoopResult> {
  const { context, logger, resume } = options;
  const tracked = options.tracker
    ? await openTrackedRun(options.tracker, context, options.runName, options.backend, resume?.state.trackerRunId, resume?.state.recipeHash)
    : null;
  let signal: NodeJS.Signals | null = null;
  const removeHandlers = onTerminationSignal((s) => {
    signal = s;
    logger.warn(`${s} received: stopping after the current step`);
  });
  let status: Exclude<RunStatus, 'RUNNING'> = 'FAILED';
  let result: Omit<LoopResult, 'tracked'>;
  try {
    const task = await makeTask();
    result = await train(task, options, tracked, () => signal);
    status = 'FINISHED';
  } catch (error) {
    if (signal !== null) status = 'KILLED';
    throw error;
  } finally {
    removeHandlers();
    if (tracked) await tracked.finish(status);
  }
  return {
    ...result,
    tracked: tracked && {
      runId: tracked.runId,
      experimentId: tracked.experimentId,
      remoteRunId: tracked.remoteRunId,
      location: options.tracker!.location,
      view: tracked.view?.(),
    },
  };
}

async function train<Batch>(
  task: TrainingTask<Batch>,
  options: LoopOptions,
  tracked: TrackedRun | null,
  interrupted: () => NodeJS.Signals | null,
): Promise<Omit<LoopResult, 'tracked'>> {
  const { context, logger, rng, resume } = options;
  const { train: settings, evaluate } = options.settings;
  const folder = new RunFolder(context.runDir);
  mkdirSync(folder.checkpoints, { recursive: true });
  const stale = folder.removeStaleTemporaries();
  if (stale.length > 0) logger.info(`removed ${stale.length} unfinished checkpoint write${stale.length === 1 ? '' : 's'} (${stale.join(', ')})`);
  const checkpoints = { best: folder.best, last: folder.last };

  const stepsPerEpoch = Math.floor(task.items.count / settings.batchSize);
  const totalSteps = stepsPerEpoch * settings.epochs;
  if (settings.epochs > 0 && stepsPerEpoch === 0) {
    throw new RunFailure(`train.batchSize ${settings.batchSize} exceeds the ${task.items.count} ${task.items.name} of split '${task.items.split}'`);
  }
  logger.info(
    `training ${settings.epochs} epochs × ${stepsPerEpoch} steps of ${settings.batchSize} ${task.items.name} on '${task.items.split}' (${task.items.images} images)`,
  );

  const state = { step: 0, bestScore: null as number | null, bestWritten: false, startEpoch: 0 };
  const history: EpochHistory = { epochLosses: [], validation: [] };
  const metrics = new ResumableMetrics(tracked, resume !== undefined);
  if (resume) {
    loadCheckpoint(resume.checkpoint, task.params, task.optimizer);
    rng.restore(resume.state.rng);
    Object.assign(state, { step: resume.state.step, bestScore: resume.state.bestScore, bestWritten: true, startEpoch: resume.state.epoch });
    history.epochLosses.push(...(resume.state.history?.epochLosses ?? []));
    history.validation.push(...(resume.state.history?.validation ?? []));
    logger.info(`resuming from ${resume.checkpoint}: ${resume.state.epoch} epochs and ${resume.state.step} steps done`);
  }
  const checkpointState = (epoch: number): CheckpointState => ({
    step: state.step,
    epoch,
    optimizerStep: 0, // filled from the optimizer by saveCheckpoint
    rng: rng.state(),
    bestScore: state.bestScore,
    ...task.checkpointExtras?.(),
    recipeHash: context.recipeHash,
    seed: context.seed,
    history: { epochLosses: [...history.epochLosses], validation: [...history.validation] },
    // The server's id when the run has reached one: any machine can re-open it from there (the tracker finds a
    // delivered run locally, or mirrors it from the server); the local store's id otherwise.
    ...(tracked ? { trackerRunId: tracked.remoteRunId ?? tracked.runId } : {}),
  });
  const save = (path: string, epoch: number) => saveCheckpoint(path, task.params, task.optimizer, checkpointState(epoch), options.hooks?.checkpointWrite);
  const progress = new ProgressReporter(logger, totalSteps, settings.batchSize, state.step);
  let firstStep = true;

  for (let epoch = state.startEpoch; epoch < settings.epochs; epoch++) {
    const forward = rng.fork(`forward-${epoch}`);
    const batches = batchesOf(epochOrder(task.items.count, rng, epoch), settings.batchSize);
    let epochLoss = 0;
    const window = new MetricWindow();
    for await (const batch of prefetchBatches(batches, (indices) => task.load(indices))) {
      if (firstStep) {
        await task.beforeFirstStep?.(batch);
        firstStep = false;
      }
      const at = { epoch, step: state.step };
      const outcome = task.step(batch, at, forward);
      epochLoss += outcome.loss;
      window.add({ loss: outcome.loss, ...outcome.diagnostics });
      options.hooks?.afterStep?.(state.step, outcome.loss);
      progress.tick(epoch, settings.epochs, state.step);
      if ((state.step + 1) % settings.logEvery === 0 || state.step + 1 === totalSteps) {
        const logged = state.step + 1;
        progress.report(epoch, settings.epochs, state.step, window.mean('loss'), outcome.learningRate);
        await metrics.log([
          { key: task.lossKey?.(at) ?? 'train/loss', value: window.mean('loss'), step: logged },
          ...window
            .keys()
            .filter((key) => key !== 'loss')
            .map((key) => ({ key: `train/${key}`, value: window.mean(key), step: logged })),
          ...(outcome.diagnostics?.grad_norm !== undefined ? [{ key: 'train/grad_norm_max', value: window.max('grad_norm'), step: logged }] : []),
          { key: 'train/lr', value: outcome.learningRate, step: logged },
        ]);
        window.clear();
      }
      state.step++;
      // A step never leaves the microtask queue on its own (data-set promises resolve at once): yield to the
      // event loop so signal handlers and the tracker's background delivery run between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const signal = interrupted();
      if (signal !== null) {
        progress.endLine();
        throw new RunFailure(`run interrupted by ${signal} at epoch ${epoch + 1}, step ${state.step}; the last checkpoint is ${checkpoints.last}`);
      }
    }
    history.epochLosses.push(epochLoss / batches.length);
    progress.endLine();

    const measured = await task.validate(epoch, rng.fork(`validate-${epoch}`));
    if (measured) {
      history.validation.push(measured.report);
      logger.info(`epoch ${epoch + 1} validation: ${measured.summary}`);
      await metrics.log(Object.entries(measured.metrics).map(([key, value]) => ({ key: `val/${key}`, value, step: epoch + 1 })));
    }
    // Without a measurement there is nothing to select on: the latest weights are the best we know.
    if (!measured || state.bestScore === null || measured.score > state.bestScore) {
      state.bestScore = measured ? measured.score : null;
      save(checkpoints.best, epoch + 1);
      state.bestWritten = true;
    }
    save(checkpoints.last, epoch + 1);
    logger.info(`epoch ${epoch + 1}/${settings.epochs}: mean loss ${history.epochLosses[epoch].toFixed(4)}, checkpoints in ${folder.checkpoints}`);
  }

  // A run of zero epochs still leaves weights to evaluate and load: its initial ones.
  if (state.bestWritten) loadCheckpoint(checkpoints.best, task.params);
  else save(checkpoints.best, 0);
  const test = await task.test(rng.fork('test'));
  if (test) {
    const weights = state.bestWritten ? 'best' : 'initial';
    logger.info(`test on '${evaluate.split}' (${weights} weights): ${test.summary}`);
    writeFileSync(
      folder.evaluation,
      `${JSON.stringify({ stage: task.stage, split: evaluate.split, weights, test: test.report, validation: history.validation, epochLosses: history.epochLosses }, null, 2)}\n`,
    );
    await metrics.log(Object.entries(test.metrics).map(([key, value]) => ({ key: `test/${key}`, value, step: settings.epochs })));
    await tracked?.logArtifact(folder.evaluation);
  } else {
    logger.warn('no evaluator in the recipe: skipped validation and the final evaluation');
  }
  if (tracked) {
    await tracked.logArtifact(folder.recipe);
    await tracked.logArtifact(checkpoints.best, 'checkpoints');
  }
  return { epochLosses: history.epochLosses, validation: history.validation, bestScore: state.bestScore, test, checkpoints, steps: state.step };
}

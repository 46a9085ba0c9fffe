import { randomInt } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { stringify } from 'yaml';
import { parameterCount } from '../build/build-run';
import type { Logger } from '../contracts/services';
import { UsageError } from '../errors';
import { saveResolvedRecipe } from '../recipe/resolve';
import type { PluginManifest } from '../registry/plugin-spec';
import { RunFolder } from '../run-folder';
import { readCheckpointState } from '../train/checkpoint';
import { trainAndEvaluate, type TrainResult } from '../train/engine';
import type { LoopResult, ResumePoint } from '../train/loop';
import { trainSegmenterStage } from '../train/segmenter-stage';
import { checkModel } from './check-model';
import { prepareRecipe } from './prepare';
import { writeReport } from './report/write-report';
import { RunSession } from './session';
import { summarizeRun, type RunSummary, type SeedSource } from './summary';
import { asTrialTracker, trialRunDir } from './trial-env';

export interface RunOptions {
  readonly recipe: string;
  readonly overrides: readonly string[];
  /** Validate and print the resolved recipe; build nothing. */
  readonly dryRun?: boolean;
  /** A run folder to continue from its last checkpoint. */
  readonly resume?: string;
  /** Resume even though the recipe's hash differs from the one the run was started with. */
  readonly force?: boolean;
  /** Write the retrieval report at the end (as the recipe's `evaluate.report`). */
  readonly report?: boolean;
}

export interface RunOutcome {
  readonly runDir?: string;
  readonly hash: string;
  readonly seed?: number;
  /** What training gave (absent for a dry run): a retrieval run's reports, or a segmenter stage's. */
  readonly result?: TrainResult | LoopResult;
  /** The end-of-run summary of a trained retrieval run (not of a dry run or a segmenter stage). */
  readonly summary?: RunSummary;
}

/**
 * `shnet run`: recipe → validate → build → check → (train, evaluate) → track. Every stage before building is
 * pure and fast, so a bad recipe (or a bad `--resume` folder) fails in milliseconds with all its problems listed.
 */
export async function runRecipe(manifests: readonly PluginManifest[], options: RunOptions, logger: Logger): Promise<RunOutcome> {
  const resumeFolder = options.resume === undefined ? null : existingRunFolder(options.resume);
  const prepared = prepareRecipe(options.recipe, options.overrides, manifests, { loadPluginCode: !options.dryRun });
  const resume = resumeFolder ? resumePoint(resumeFolder, prepared.hash, options.force ?? false, logger) : undefined;
  if (options.dryRun) {
    process.stdout.write(`# sha256 ${prepared.hash}\n${stringify(prepared.resolved)}`);
    return { hash: prepared.hash };
  }
  const { settings } = prepared;
  const seedSource: SeedSource = resume?.state.seed !== undefined ? 'resumed' : settings.seed !== undefined ? 'recipe' : 'drawn';
  const seed = resume?.state.seed ?? settings.seed ?? randomInt(2 ** 32 - 1);
  const name = settings.name ?? basename(options.recipe, extname(options.recipe));
  const trialDir = trialRunDir();
  const folder = resumeFolder ?? (trialDir ? new RunFolder(trialDir) : RunFolder.create(settings.output, name));
  if (!resume || resume.state.recipeHash !== prepared.hash) saveResolvedRecipe(folder, prepared.resolved, prepared.hash, seed, prepared.plugins);
  logger.info(`run ${name}: recipe sha256 ${prepared.hash.slice(0, 12)}, seed ${seed}, folder ${folder.dir}`);

  const session = await RunSession.start(prepared, { seed, runDir: folder.dir, logger });
  const loop = { settings, context: session.context, rng: session.rng, backend: session.requireBackend(), runName: name, logger, resume };
  if (settings.stage === 'segmenter') {
    const parts = session.buildSegmenterStage();
    try {
      const { trainable } = parameterCount(parts.segmenter);
      logger.info(`segmenter: ${trainable.toLocaleString('en')} trainable parameters`);
      const result = await trainSegmenterStage({ ...parts, tracker: asTrialTracker(parts.tracker) }, loop);
      return { runDir: folder.dir, hash: prepared.hash, seed, result };
    } finally {
      parts.segmenter.dispose();
      parts.optimizer.dispose();
    }
  }
  const built = session.buildRun();
  for (const [label, block] of [
    ['image encoder', built.imageEncoder],
    ['text encoder', built.textEncoder],
  ] as const) {
    const { trainable, total } = parameterCount(block);
    logger.info(`${label}: ${trainable.toLocaleString('en')} trainable parameters (${total.toLocaleString('en')} with buffers)`);
  }
  const check = await checkModel(built, settings.train.split, session.rng.fork('model-check'));
  logger.info(`model check passed: ${check.batch} images and captions -> ${check.dim}-d unit embeddings`);
  const result = await trainAndEvaluate({ ...loop, built: { ...built, tracker: asTrialTracker(built.tracker) } });
  if (options.report ?? settings.evaluate.report) await reportAfterRun(manifests, folder.dir, logger);
  const summary = summarizeRun({
    recipe: options.recipe,
    overrides: options.overrides,
    runDir: folder.dir,
    seed,
    seedSource,
    backend: loop.backend,
    resolved: prepared.resolved,
    result,
  });
  return { runDir: folder.dir, hash: prepared.hash, seed, result, summary };
}

/**
 * The report of a finished run, from its folder as `shnet report --track` makes it. A failure here is logged, not
 * raised: training and its evaluation are done and saved, and the report can be written again at any time.
 */
async function reportAfterRun(manifests: readonly PluginManifest[], runDir: string, logger: Logger): Promise<void> {
  try {
    await writeReport(manifests, { target: runDir, overrides: [] }, { track: true }, logger);
  } catch (error) {
    logger.error(`the report was not written (${error instanceof Error ? error.message : String(error)}); try: shnet report ${runDir} --track`);
  }
}

/** The folder `--resume` names, checked before anything else is read: it must exist and be a run folder. */
function existingRunFolder(dir: string): RunFolder {
  if (!existsSync(dir)) throw new UsageError(`cannot resume ${dir}: no such run folder`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`cannot resume ${dir}: it is a file, not a run folder`);
  const folder = new RunFolder(dir);
  if (!existsSync(folder.last)) throw new UsageError(`cannot resume ${dir}: it has no checkpoints/last.safetensors (no epoch finished)`);
  return folder;
}

/**
 * The checkpoint a resumed run continues from, its state read once here and handed to the training loop. A
 * different recipe hash is refused unless forced: continuing a run under changed settings makes its results
 * belong to neither recipe.
 */
function resumePoint(folder: RunFolder, hash: string, force: boolean, logger: Logger): ResumePoint {
  const state = readCheckpointState(folder.last);
  if (state.recipeHash !== hash) {
    const message = `${folder.dir} was trained with recipe sha256 ${state.recipeHash.slice(0, 12)}, this recipe resolves to ${hash.slice(0, 12)}`;
    if (!force) throw new UsageError(`cannot resume: ${message}. Use the run's own recipe.yaml, or --force to continue anyway`);
    logger.warn(`--force: ${message}; continuing with the new recipe`);
  }
  return { checkpoint: folder.last, state };
}

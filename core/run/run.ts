import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { stringify } from 'yaml';
import { describeBackend, selectBackend, type BackendRequest } from '../backend/select';
import type { Logger } from '../contracts/services';
import { UsageError } from '../errors';
import { createRootContainer, createRunContainer } from '../di/containers';
import type { PluginManifest } from '../registry/plugin-spec';
import { saveResolvedRecipe } from '../recipe/resolve';
import type { RootSettingsValue } from '../recipe/root';
import { createRng } from '../services/rng';
import { asTrialRun, trialRunDir } from '../sweep/trial-env';
import { readCheckpointState, type CheckpointState } from '../train/checkpoint';
import { trainAndEvaluate } from '../train/engine';
import { buildRun, parameterCount } from './build-run';
import { checkModel } from './check-model';
import { prepareRecipe } from './prepare';
import { runSegmenterStage } from './segmenter-run';
import { summarizeRun, type RunSummary, type SeedSource } from './summary';

export interface RunOptions {
  readonly recipe: string;
  readonly overrides: readonly string[];
  /** Validate and print the resolved recipe; build nothing. */
  readonly dryRun?: boolean;
  /** A run folder to continue from its last checkpoint. */
  readonly resume?: string;
  /** Resume even though the recipe's hash differs from the one the run was started with. */
  readonly force?: boolean;
}

export interface RunOutcome {
  readonly runDir?: string;
  readonly hash: string;
  readonly seed?: number;
  /** The end-of-run summary of a trained run (not of a dry run or a segmenter stage). */
  readonly summary?: RunSummary;
}

/**
 * `shnet run`: recipe → validate → build → check → (train, evaluate) → track. Every stage before building is
 * pure and fast, so a bad recipe fails in milliseconds with all its problems listed.
 */
export async function runRecipe(manifests: readonly PluginManifest[], options: RunOptions, logger: Logger): Promise<RunOutcome> {
  const prepared = prepareRecipe(options.recipe, options.overrides, manifests);
  const settings = prepared.resolved as unknown as RootSettingsValue & Record<string, unknown>;
  if (options.dryRun) {
    process.stdout.write(`# sha256 ${prepared.hash}\n${stringify(prepared.resolved)}`);
    return { hash: prepared.hash };
  }
  if (settings.stage === 'segmenter' && options.resume)
    throw new UsageError('--resume is not supported for stage: segmenter recipes (the stage is short: run it again)');
  const resumed = options.resume ? resumePoint(options.resume, prepared.hash, options.force ?? false, logger) : null;
  const seedSource: SeedSource = resumed?.state.seed !== undefined ? 'resumed' : settings.seed !== undefined ? 'recipe' : 'drawn';
  const seed = resumed?.state.seed ?? settings.seed ?? randomInt(2 ** 32 - 1);
  const name = settings.name ?? basename(options.recipe, extname(options.recipe));
  const runDir = options.resume ?? trialRunDir() ?? join(settings.output, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  if (!resumed || resumed.state.recipeHash !== prepared.hash) saveResolvedRecipe(runDir, prepared.resolved, prepared.hash, seed);
  logger.info(`run ${name}: recipe sha256 ${prepared.hash.slice(0, 12)}, seed ${seed}, folder ${runDir}`);

  const backend = await selectBackend(settings.backend as BackendRequest);
  logger.info(describeBackend(backend));
  const rng = createRng(seed);
  const context = { runDir, recipe: prepared.resolved, recipeHash: prepared.hash, seed };
  const root = createRootContainer([...manifests, ...prepared.registry.loadedManifests().filter((m) => !manifests.includes(m))], logger);
  const run = createRunContainer(root, { rng, backend, context });
  if (settings.stage === 'segmenter') {
    await runSegmenterStage(prepared, run, context, rng, backend, name, logger);
    return { runDir, hash: prepared.hash, seed };
  }
  const built = asTrialRun(buildRun(prepared.registry, run, prepared.resolved));
  for (const [label, block] of [
    ['image encoder', built.imageEncoder],
    ['text encoder', built.textEncoder],
  ] as const) {
    const { trainable, total } = parameterCount(block);
    logger.info(`${label}: ${trainable.toLocaleString('en')} trainable parameters (${total.toLocaleString('en')} with buffers)`);
  }
  const check = await checkModel(built, settings.train.split, rng.fork('model-check'));
  logger.info(`model check passed: ${check.batch} images and captions -> ${check.dim}-d unit embeddings`);
  const result = await trainAndEvaluate({ built, settings, context, rng, backend, runName: name, logger, resumeFrom: resumed?.checkpoint });
  const summary = summarizeRun({
    recipe: options.recipe,
    overrides: options.overrides,
    runDir,
    seed,
    seedSource,
    backend,
    resolved: prepared.resolved,
    result,
  });
  return { runDir, hash: prepared.hash, seed, summary };
}

/**
 * The checkpoint a resumed run continues from (`<runDir>/checkpoints/last.safetensors`). A different recipe hash
 * is refused unless forced: continuing a run under changed settings makes its results belong to neither recipe.
 */
function resumePoint(runDir: string, hash: string, force: boolean, logger: Logger): { checkpoint: string; state: CheckpointState } {
  const checkpoint = join(runDir, 'checkpoints', 'last.safetensors');
  if (!existsSync(checkpoint)) throw new UsageError(`cannot resume ${runDir}: it has no checkpoints/last.safetensors (no epoch finished)`);
  const state = readCheckpointState(checkpoint);
  if (state.recipeHash !== hash) {
    const message = `${runDir} was trained with recipe sha256 ${state.recipeHash.slice(0, 12)}, this recipe resolves to ${hash.slice(0, 12)}`;
    if (!force) throw new UsageError(`cannot resume: ${message}. Use the run's own recipe.yaml, or --force to continue anyway`);
    logger.warn(`--force: ${message}; continuing with the new recipe`);
  }
  return { checkpoint, state };
}

import { randomInt } from 'node:crypto';
import { basename, extname, join } from 'node:path';
import { stringify } from 'yaml';
import { describeBackend, selectBackend, type BackendRequest } from '../backend/select';
import type { Logger } from '../contracts/services';
import { createRootContainer, createRunContainer } from '../di/containers';
import type { PluginManifest } from '../registry/plugin-spec';
import { saveResolvedRecipe } from '../recipe/resolve';
import type { RootSettingsValue } from '../recipe/root';
import { createRng } from '../services/rng';
import { trainAndEvaluate } from '../train/engine';
import { buildRun, parameterCount } from './build-run';
import { checkModel } from './check-model';
import { prepareRecipe } from './prepare';

export interface RunOptions {
  readonly recipe: string;
  readonly overrides: readonly string[];
  /** Validate and print the resolved recipe; build nothing. */
  readonly dryRun?: boolean;
}

export interface RunOutcome {
  readonly runDir?: string;
  readonly hash: string;
  readonly seed?: number;
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
  const seed = settings.seed ?? randomInt(2 ** 32 - 1);
  const name = settings.name ?? basename(options.recipe, extname(options.recipe));
  const runDir = join(settings.output, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  saveResolvedRecipe(runDir, prepared.resolved, prepared.hash, seed);
  logger.info(`run ${name}: recipe sha256 ${prepared.hash.slice(0, 12)}, seed ${seed}, folder ${runDir}`);

  const backend = await selectBackend(settings.backend as BackendRequest);
  logger.info(describeBackend(backend));
  const rng = createRng(seed);
  const root = createRootContainer([...manifests, ...prepared.registry.loadedManifests().filter((m) => !manifests.includes(m))], logger);
  const run = createRunContainer(root, { rng, backend, context: { runDir, recipe: prepared.resolved, recipeHash: prepared.hash, seed } });
  const built = buildRun(prepared.registry, run, prepared.resolved);
  for (const [label, block] of [['image encoder', built.imageEncoder], ['text encoder', built.textEncoder]] as const) {
    const { trainable, total } = parameterCount(block);
    logger.info(`${label}: ${trainable.toLocaleString('en')} trainable parameters (${total.toLocaleString('en')} with buffers)`);
  }
  const check = await checkModel(built, settings.train.split, rng.fork('model-check'));
  logger.info(`model check passed: ${check.batch} images and captions -> ${check.dim}-d unit embeddings`);
  const context = { runDir, recipe: prepared.resolved, recipeHash: prepared.hash, seed };
  await trainAndEvaluate({ built, settings, context, rng, backend, runName: name, logger });
  return { runDir, hash: prepared.hash, seed };
}

/**
 * A tiny real run for the engine tests: the built-in plugins (3SHNet image encoder, BiGRU text encoder, triplet
 * loss, AdamW) on a small `shapes` data set, built through the same recipe → registry → DI path as `shnet run`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendInfo, Logger, Rng, RunContext } from '../../../core/contracts/services';
import type { RecipeSettings } from '../../../core/recipe/root';
import type { PluginManifest } from '../../../core/registry/plugin-spec';
import type { BuiltRun } from '../../../core/build/build-run';
import { prepareRecipe } from '../../../core/run/prepare';
import { RunSession } from '../../../core/run/session';
import { manifest as builtinManifest } from '../../../plugins/manifest';

/** The shipped manifest, imported directly: `builtinManifest()` loads its compiled `.js`, absent under ts-node. */
export function engineTestManifests(): PluginManifest[] {
  return [builtinManifest];
}

/** A recipe small enough to train in seconds on the wasm backend (cpu is 25–40× slower). */
export function tinyRecipe(
  overrides: { epochs?: number; lr?: number; weightDecay?: number; evaluator?: boolean; warmupEpochs?: number; seed?: number } = {},
): string {
  return `name: tiny
seed: ${overrides.seed ?? 11}
backend: wasm
tracker: null
${overrides.evaluator === false ? 'evaluator: null\n' : ''}data:
  type: shapes
  args: {trainSize: 40, devSize: 10, testSize: 10, imageSize: 16, regionsPerImage: 4, featureDim: 53, maxObjects: 3}
model:
  image:
    type: 3shnet
    args: {embedDim: 16, dropout: 0.1}
    backbone: {type: precomputed}
    segmenter: {type: precomputed}
    highlight:
      semantic: {type: semantic, args: {embedDim: 16}}
    aggregator: {type: gpo, args: {peDim: 8, hiddenDim: 8}}
  text:
    type: bigru
    args: {embedDim: 16, wordDim: 8, minCount: 1}
    aggregator: {type: gpo, args: {peDim: 8, hiddenDim: 8}}
loss: {type: triplet, args: {margin: 0.2, warmupEpochs: ${overrides.warmupEpochs ?? 1}}}
optimizer: {type: adamw, args: {lr: ${overrides.lr ?? 0.002}, weightDecay: ${overrides.weightDecay ?? 0.0001}}}
train: {epochs: ${overrides.epochs ?? 2}, batchSize: 8, logEvery: 5, validationSplit: dev, validationImages: 10}
evaluate: {split: test}
`;
}

/** Everything the engine needs for one run, built from a recipe text. */
export interface TinyRun {
  readonly built: BuiltRun;
  readonly settings: RecipeSettings;
  readonly context: RunContext;
  readonly rng: Rng;
  readonly backend: BackendInfo;
  readonly logger: Logger;
  readonly runName: string;
}

/** Collects log lines instead of writing them (the engine's progress lines are asserted on). */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  debug(m: string): void {
    this.lines.push(`debug: ${m}`);
  }
  info(m: string): void {
    this.lines.push(m);
  }
  warn(m: string): void {
    this.lines.push(`warn: ${m}`);
  }
  error(m: string): void {
    this.lines.push(`error: ${m}`);
  }
}

/** Builds a tiny run through the same assembly path as `shnet run` (prepare the recipe, start a session, build). */
export async function buildTinyRun(recipe: string, logger: Logger = new MemoryLogger()): Promise<TinyRun> {
  const dir = mkdtempSync(join(tmpdir(), 'shnet-engine-'));
  const file = join(dir, 'tiny.yaml');
  writeFileSync(file, recipe);
  const prepared = prepareRecipe(file, [], engineTestManifests());
  const session = await RunSession.start(prepared, { seed: prepared.settings.seed ?? 1, runDir: join(dir, 'run'), logger });
  return {
    built: session.buildRun(),
    settings: prepared.settings,
    context: session.context,
    rng: session.rng,
    backend: session.requireBackend(),
    logger,
    runName: 'tiny',
  };
}

/** Releases every tensor a tiny run owns. */
export function disposeTinyRun(run: TinyRun): void {
  run.built.imageEncoder.dispose();
  run.built.textEncoder.dispose();
  run.built.loss.dispose?.();
  run.built.optimizer.dispose();
}

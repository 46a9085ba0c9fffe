import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatasetSplit } from '../contracts/dataset';
import type { EmbeddingSet, EvaluateOptions, EvaluationReport, Evaluator } from '../contracts/evaluation';
import type { Logger } from '../contracts/services';
import { UsageError } from '../errors';
import { NodeKey } from '../recipe/reserved-keys';
import type { PluginManifest } from '../registry/plugin-spec';
import { createRng } from '../services/rng';
import { buildStandaloneNode, RunSession } from './session';
import { encodeSplit } from '../train/encode';
import { disposeModel, loadModel, locateModel, type LoadedModel } from './load-run';
import { prepareRecipe } from './prepare';

/** One trained model to evaluate: a run folder or checkpoint, its recipe, and recipe overrides. */
export interface EvalTarget {
  readonly target: string;
  /** Recipe for a checkpoint outside a run folder. */
  readonly recipe?: string;
  /** `--set` overrides applied on top of the run's recipe (another data set, protocol, backend…). */
  readonly overrides: readonly string[];
}

/** What `shnet eval` reports for one model (or an ensemble): the split, its size and the evaluator's report. */
export interface ModelEvaluation {
  readonly split: string;
  readonly numImages: number;
  readonly report: EvaluationReport;
  readonly checkpoint: string;
  readonly recipe: string;
  readonly runDir: string | null;
}

/** A trained model with one split of its data set open; {@link close} releases both. */
export interface ModelSplit {
  readonly model: LoadedModel;
  readonly data: DatasetSplit;
  close(): Promise<void>;
}

/**
 * Loads a trained model (`locateModel` → `loadModel`: its recipe with `plugins:`, vocabulary and best weights) and
 * opens `split` of its data set — the recipe's `evaluate.split` by default. For a model that stays loaded (a
 * server); {@link withModelSplit} otherwise.
 */
export async function openModelSplit(manifests: readonly PluginManifest[], target: EvalTarget, split: string | undefined, logger: Logger): Promise<ModelSplit> {
  const model = await loadModel(manifests, locateModel(target.target, target.recipe), target.overrides, logger);
  let data: DatasetSplit;
  try {
    data = await model.built.dataset.open(split ?? model.settings.evaluate.split);
  } catch (error) {
    disposeModel(model);
    throw error;
  }
  return {
    model,
    data,
    async close() {
      try {
        await data.close();
      } finally {
        disposeModel(model);
      }
    },
  };
}

/**
 * Loads a trained model, runs `use` on it with the split opened, and releases both whatever happens.
 * `split` defaults to the recipe's `evaluate.split`.
 */
export async function withModelSplit<T>(
  manifests: readonly PluginManifest[],
  target: EvalTarget,
  split: string | undefined,
  logger: Logger,
  use: (model: LoadedModel, data: DatasetSplit) => Promise<T>,
): Promise<T> {
  const opened = await openModelSplit(manifests, target, split, logger);
  try {
    return await use(opened.model, opened.data);
  } finally {
    await opened.close();
  }
}

/** Image embeddings `[N, D]` (each image encoded once) and caption embeddings `[5N, D]` of a whole split. */
export async function encodeModelSplit(model: LoadedModel, data: DatasetSplit, logger: Logger): Promise<EmbeddingSet> {
  const started = Date.now();
  const embeddings = await encodeSplit(data, data.numImages, model.built, createRng(model.state.seed ?? 0).fork('test'));
  logger.info(
    `encoded '${data.name}': ${data.numImages} images and ${5 * data.numImages} captions, ${embeddings.dim}-d, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return embeddings;
}

/**
 * Encodes the split with the model and evaluates it with the recipe's evaluator, under `options.protocol` or the
 * recipe's; `options.saveSimilarity` keeps the `[N, 5N]` matrix.
 */
export async function evaluateModel(
  manifests: readonly PluginManifest[],
  target: EvalTarget,
  split: string | undefined,
  logger: Logger,
  options: EvaluateOptions = {},
): Promise<ModelEvaluation> {
  return withModelSplit(manifests, target, split, logger, async (model, data) => {
    const evaluator = requireEvaluator(model);
    evaluator.checkOptions?.(options, data.numImages);
    const report = await evaluator.evaluate(await encodeModelSplit(model, data, logger), options);
    return {
      split: data.name,
      numImages: data.numImages,
      report,
      checkpoint: model.source.checkpoint,
      recipe: model.source.recipe,
      runDir: model.source.runDir,
    };
  });
}

/** An ensemble's evaluation and that of each member on its own. */
export interface EnsembleEvaluation {
  readonly members: readonly ModelEvaluation[];
  readonly ensemble: EvaluationReport;
}

/**
 * The hybrid level (docs/evaluation.md, ensembles): every member encodes the split and saves its `[N, 5N]` similarity matrix, then the
 * element-wise mean of the matrices is evaluated with the first member's evaluator (protocol included). Members
 * must agree on the split's images and caption order, which the matrices' shapes check only in size.
 */
export async function evaluateEnsemble(
  manifests: readonly PluginManifest[],
  targets: readonly EvalTarget[],
  split: string | undefined,
  logger: Logger,
  options: EvaluateOptions = {},
): Promise<EnsembleEvaluation> {
  if (targets.length < 2) throw new UsageError(`an ensemble needs at least two runs, got ${targets.length}`);
  const scratch = mkdtempSync(join(tmpdir(), 'shnet-ensemble-'));
  try {
    const members: ModelEvaluation[] = [];
    const paths: string[] = [];
    for (const [i, target] of targets.entries()) {
      paths.push(join(scratch, `member-${i}.npy`));
      members.push(await evaluateModel(manifests, target, split, logger, { protocol: options.protocol, ties: options.ties, saveSimilarity: paths[i] }));
      if (members[i].numImages !== members[0].numImages) {
        throw new UsageError(
          `ensemble members disagree on the split: ${targets[0].target} has ${members[0].numImages} images, ${target.target} ${members[i].numImages}`,
        );
      }
    }
    // The first member's recipe decides the protocol; its evaluator is rebuilt without loading any weights.
    const evaluator = await evaluatorOfRecipe(manifests, targets[0], logger);
    if (!evaluator.evaluateSimilarity) throw new UsageError(`the evaluator of ${targets[0].target} cannot evaluate saved similarity matrices`);
    return { members, ensemble: await evaluator.evaluateSimilarity(paths, options) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Evaluates saved `[N, 5N]` similarity matrices (their element-wise mean when several) with an evaluator built
 * from `node` (`{type, args}`, e.g. `{type: 'retrieval', args: {protocol: 'coco-5k'}}`).
 */
export async function evaluateSimilarityFiles(
  manifests: readonly PluginManifest[],
  paths: readonly string[],
  node: Record<string, unknown>,
  logger: Logger,
  options: EvaluateOptions = {},
): Promise<EvaluationReport> {
  const evaluator = buildStandaloneNode<Evaluator>(manifests, 'evaluator', node, 'evaluator', logger);
  if (!evaluator.evaluateSimilarity) throw new UsageError(`evaluator '${String(node[NodeKey.type])}' cannot evaluate saved similarity matrices`);
  return evaluator.evaluateSimilarity(paths, options);
}

function requireEvaluator(model: LoadedModel): Evaluator {
  if (model.built.evaluator) return model.built.evaluator;
  throw new UsageError(`the recipe ${model.source.recipe} has no evaluator; add one with --set evaluator.type=retrieval`);
}

/** The evaluator of a target's recipe (with its overrides), built on its own: no data set, no model, no backend. */
async function evaluatorOfRecipe(manifests: readonly PluginManifest[], target: EvalTarget, logger: Logger): Promise<Evaluator> {
  const source = locateModel(target.target, target.recipe);
  const prepared = prepareRecipe(source.recipe, target.overrides, manifests);
  const session = await RunSession.start(prepared, { seed: 0, runDir: source.runDir ?? '.', logger, backend: 'none' });
  const evaluator = session.buildOptional<Evaluator>('evaluator', 'evaluator');
  if (evaluator === null) throw new UsageError(`the recipe ${source.recipe} has no evaluator; add one with --set evaluator.type=retrieval`);
  return evaluator;
}

import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BuiltRun } from '../build/build-run';
import type { BackendInfo, Logger } from '../contracts/services';
import { UsageError } from '../errors';
import type { RecipeSettings } from '../recipe/root';
import type { PluginManifest } from '../registry/plugin-spec';
import { RunFolder } from '../run-folder';
import { loadCheckpoint, readCheckpointState, type CheckpointState } from '../train/checkpoint';
import { runParameters } from '../train/parameters';
import { prepareRecipe, type PreparedRecipe } from './prepare';
import { RunSession } from './session';

/** Where a trained model's weights and recipe are. */
export interface ModelSource {
  /** The checkpoint file loaded. */
  readonly checkpoint: string;
  /** The recipe the model is rebuilt from (the run's `recipe.yaml`, or `--recipe`). */
  readonly recipe: string;
  /** The run folder, when the target is one (or the checkpoint sits in one's `checkpoints/`). */
  readonly runDir: string | null;
}

/**
 * Finds the checkpoint and recipe of `target`: a run folder (its best checkpoint and `recipe.yaml`), or a
 * checkpoint file (its run's `recipe.yaml` when it sits in `RUN/checkpoints/`, else `recipe`).
 */
export function locateModel(target: string, recipe?: string): ModelSource {
  if (!existsSync(target)) throw new UsageError(`${target}: no such run folder or checkpoint`);
  if (statSync(target).isDirectory()) {
    const folder = new RunFolder(target);
    if (!existsSync(folder.best)) throw new UsageError(`${target} has no checkpoints/best.safetensors (did an epoch finish?)`);
    if (recipe === undefined && !existsSync(folder.recipe)) throw new UsageError(`${target} has no recipe.yaml; name the recipe with --recipe`);
    return { checkpoint: folder.best, recipe: recipe ?? folder.recipe, runDir: target };
  }
  const folder = RunFolder.ofCheckpoint(target);
  const found = recipe ?? folder?.recipe;
  if (found === undefined) throw new UsageError(`${target} is not inside a run folder: name the recipe it was trained with, --recipe FILE`);
  return { checkpoint: target, recipe: found, runDir: folder?.dir ?? null };
}

/** A trained model rebuilt in evaluation form: its plugins with the checkpoint's weights loaded. */
export interface LoadedModel {
  readonly source: ModelSource;
  readonly prepared: PreparedRecipe;
  readonly settings: RecipeSettings;
  readonly built: BuiltRun;
  readonly state: CheckpointState;
  readonly backend: BackendInfo;
}

/**
 * Rebuilds the model a checkpoint was trained as: the recipe (with `overrides`, e.g. another data set for
 * cross-data-set evaluation) is validated and built as `shnet run` builds it — its `plugins:` loaded — the
 * tokenizer state stored in the checkpoint is restored (a word vocabulary is part of the model), then every weight
 * is loaded; a checkpoint that does not fit the rebuilt model is an error naming the mismatching weights.
 */
export async function loadModel(manifests: readonly PluginManifest[], source: ModelSource, overrides: readonly string[], logger: Logger): Promise<LoadedModel> {
  const prepared = prepareRecipe(source.recipe, overrides, manifests, { loadPluginCode: true, withoutTraining: true });
  const { settings } = prepared;
  const state = readCheckpointState(source.checkpoint);
  const seed = state.seed ?? settings.seed ?? 0;
  const session = await RunSession.start(prepared, { seed, runDir: source.runDir ?? dirname(source.checkpoint), logger });
  const built = session.buildRun();
  if (state.tokenizer !== undefined && built.textEncoder.loadTokenizerState) {
    built.textEncoder.loadTokenizerState(state.tokenizer);
  } else if (built.textEncoder.prepare) {
    // Checkpoints store the vocabulary; an encoder that has one but a file without it gets the training captions.
    const train = await built.dataset.open(settings.train.split);
    built.textEncoder.prepare(train.captions());
  }
  loadCheckpoint(source.checkpoint, runParameters(built));
  logger.info(`loaded ${source.checkpoint} (epoch ${state.epoch}, step ${state.step}) into the model of ${source.recipe}`);
  return { source, prepared, settings, built, state, backend: session.requireBackend() };
}

/** Releases every tensor of a loaded model. */
export function disposeModel(model: LoadedModel): void {
  model.built.imageEncoder.dispose();
  model.built.textEncoder.dispose();
  model.built.loss.dispose?.();
  model.built.optimizer.dispose();
}

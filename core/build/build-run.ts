import type { Container } from 'inversify';
import { buildNode } from './builder';
import type { Dataset } from '../contracts/dataset';
import type { EvaluationReport, Evaluator } from '../contracts/evaluation';
import type { ImageEncoder } from '../contracts/image';
import type { ParameterOwner } from '../contracts/module';
import type { TextEncoder } from '../contracts/text';
import type { Loss, Optimizer, Schedule } from '../contracts/training';
import type { ExperimentTracker } from '../contracts/tracker';
import { bindDataInfo } from '../di/containers';
import type { PluginKind } from '../kinds';
import { getPath } from '../recipe/validate';
import type { PluginRegistry } from '../registry/registry';

/** Every plugin of a run, built from the validated recipe. Optional slots the recipe switched off are `null`. */
export interface BuiltRun {
  readonly dataset: Dataset;
  readonly imageEncoder: ImageEncoder;
  readonly textEncoder: TextEncoder;
  readonly loss: Loss;
  readonly optimizer: Optimizer;
  readonly schedule: Schedule | null;
  readonly evaluator: Evaluator | null;
  readonly tracker: ExperimentTracker | null;
}

/**
 * Builds the run's plugins in dependency order: the data set first, so its facts ({@link DataInfo}) are bound
 * before the model nodes that inject them are built.
 */
export function buildRun(registry: PluginRegistry, run: Container, resolved: Record<string, unknown>): BuiltRun {
  const build = <T>(path: string, kind: PluginKind): T => buildNode<T>(registry, run, getPath(resolved, path), path, kind);
  const optional = <T>(path: string, kind: PluginKind): T | null => (getPath(resolved, path) == null ? null : build<T>(path, kind));
  const dataset = build<Dataset>('data', 'dataset');
  bindDataInfo(run, dataset.info);
  return {
    dataset,
    imageEncoder: build<ImageEncoder>('model.image', 'image-encoder'),
    textEncoder: build<TextEncoder>('model.text', 'text-encoder'),
    loss: build<Loss>('loss', 'loss'),
    optimizer: build<Optimizer>('optimizer', 'optimizer'),
    schedule: optional<Schedule>('schedule', 'schedule'),
    evaluator: optional<Evaluator>('evaluator', 'evaluator'),
    tracker: optional<ExperimentTracker>('tracker', 'tracker'),
  };
}

/** Trainable and total parameter counts of a block. */
export function parameterCount(owner: ParameterOwner): { trainable: number; total: number } {
  let trainable = 0;
  let total = 0;
  for (const p of owner.parameters()) {
    total += p.variable.size;
    if (p.trainable) trainable += p.variable.size;
  }
  return { trainable, total };
}

export type { EvaluationReport };

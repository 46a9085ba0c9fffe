import type { Container } from 'inversify';
import { buildNode } from '../build/builder';
import type { Dataset } from '../contracts/dataset';
import type { Segmenter } from '../contracts/image';
import type { BackendInfo, Logger, Rng, RunContext } from '../contracts/services';
import type { ExperimentTracker } from '../contracts/tracker';
import type { Optimizer, Schedule } from '../contracts/training';
import { bindDataInfo } from '../di/containers';
import type { RootSettingsValue } from '../recipe/root';
import { getPath } from '../recipe/validate';
import { trainSegmenterStage, type SegmenterStageResult } from '../train/segmenter-stage';
import type { PreparedRecipe } from './prepare';

/**
 * `shnet run` of a `stage: segmenter` recipe: builds the data set first (its `DataInfo` fixes the class count and
 * map sizes), then the segmenter, optimizer, schedule and tracker, and trains the segmenter on label maps.
 */
export async function runSegmenterStage(
  prepared: PreparedRecipe,
  run: Container,
  context: RunContext,
  rng: Rng,
  backend: BackendInfo,
  runName: string,
  logger: Logger,
): Promise<SegmenterStageResult> {
  const resolved = prepared.resolved;
  const settings = resolved as unknown as RootSettingsValue;
  const build = <T>(path: string, kind: Parameters<typeof buildNode>[4]): T => buildNode<T>(prepared.registry, run, getPath(resolved, path), path, kind);
  const optional = <T>(path: string, kind: Parameters<typeof buildNode>[4]): T | null => (getPath(resolved, path) == null ? null : build<T>(path, kind));
  const dataset = build<Dataset>('data', 'dataset');
  bindDataInfo(run, dataset.info);
  const segmenter = build<Segmenter>('segmenter', 'segmenter');
  const optimizer = build<Optimizer>('optimizer', 'optimizer');
  try {
    const parts = {
      dataset,
      segmenter,
      optimizer,
      schedule: optional<Schedule>('schedule', 'schedule'),
      tracker: optional<ExperimentTracker>('tracker', 'tracker'),
    };
    const trainable = segmenter
      .parameters()
      .filter((p) => p.trainable)
      .reduce((n, p) => n + p.variable.size, 0);
    logger.info(`segmenter: ${trainable.toLocaleString('en')} trainable parameters`);
    return await trainSegmenterStage(parts, settings, context, rng, backend, runName, logger);
  } finally {
    segmenter.dispose();
    optimizer.dispose();
  }
}

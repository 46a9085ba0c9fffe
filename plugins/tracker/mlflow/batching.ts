import { MLFLOW_LIMITS } from './limits';
import type { LogBatch } from './rest-types';

/** Size of one entity in a log-batch body, as JSON (plus a comma). */
export function jsonSize(entity: unknown): number {
  return Buffer.byteLength(JSON.stringify(entity)) + 1;
}

/**
 * Splits `batch` into consecutive `runs/log-batch` bodies that each respect MLflow's limits: at most 1000 metrics,
 * 100 params, 100 tags and 1000 entities in all, and under 1 MB of JSON. Order within each list is preserved, so
 * metrics of one key stay in the order they were logged.
 */
export function splitBatch(batch: LogBatch): LogBatch[] {
  const chunks: LogBatch[] = [];
  let current: LogBatch = { metrics: [], params: [], tags: [] };
  let bytes = 0;
  const count = () => current.metrics.length + current.params.length + current.tags.length;
  const add = <K extends keyof LogBatch>(list: K, entity: LogBatch[K][number], limit: number) => {
    const size = jsonSize(entity);
    const full = current[list].length >= limit || count() >= MLFLOW_LIMITS.entitiesPerBatch || bytes + size > MLFLOW_LIMITS.batchBytes;
    if (full && count() > 0) {
      chunks.push(current);
      current = { metrics: [], params: [], tags: [] };
      bytes = 0;
    }
    (current[list] as LogBatch[K][number][]).push(entity);
    bytes += size;
  };
  for (const param of batch.params) add('params', param, MLFLOW_LIMITS.paramsPerBatch);
  for (const tag of batch.tags) add('tags', tag, MLFLOW_LIMITS.tagsPerBatch);
  for (const metric of batch.metrics) add('metrics', metric, MLFLOW_LIMITS.metricsPerBatch);
  if (count() > 0) chunks.push(current);
  return chunks;
}

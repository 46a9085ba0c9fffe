/**
 * MLflow's server-side limits (`mlflow/utils/validation.py`, MLflow 3.x). A request over any of them is rejected whole,
 * so the client splits and truncates before sending.
 */
export const MLFLOW_LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  entitiesPerBatch: 1000,
  /** Bytes of JSON in one `runs/log-batch` body; kept a little under the server's 1 MB for headroom. */
  batchBytes: 1_000_000 - 10_000,
  paramValueLength: 6000,
  tagValueLength: 5000,
  keyLength: 250,
} as const;

/** The subset of MLflow's REST entities (`/api/2.0/mlflow`, MLflow 3.x) that shnet reads and writes. */

export interface MlflowMetric {
  key: string;
  /** NaN and ±Infinity travel as the strings "NaN", "Infinity", "-Infinity" (protobuf JSON). */
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  step: number;
}

export interface MlflowKeyValue {
  key: string;
  value: string;
}

export interface MlflowExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: string;
}

export type MlflowRunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface MlflowRunInfo {
  run_id: string;
  experiment_id: string;
  run_name?: string;
  status: MlflowRunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage?: string;
}

export interface MlflowRun {
  info: MlflowRunInfo;
  data: { metrics?: MlflowMetric[]; params?: MlflowKeyValue[]; tags?: MlflowKeyValue[] };
}

/** One `runs/log-batch` body (already within the limits). */
export interface LogBatch {
  metrics: MlflowMetric[];
  params: MlflowKeyValue[];
  tags: MlflowKeyValue[];
}

export interface MlflowFileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

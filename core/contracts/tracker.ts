/**
 * The tracker contract: how a run is recorded. Implementations live in `plugins/tracker/`
 * (an MLflow REST client, and the local MLflow FileStore that doubles as its write-ahead log).
 *
 * Keys given to a tracker are shnet's readable names (`i2t/R1`, `train/loss`, `model.image.args.embedDim`);
 * the tracker sanitises them to what its store accepts, always the same way, so runs line up in comparisons.
 */

/** Terminal and non-terminal run states, as MLflow names them. */
export type RunStatus = 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';

/** One metric observation. `timestamp` is milliseconds since the epoch; the tracker fills it when absent. */
export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  timestamp?: number;
}

/** What is needed to open (or re-open, on resume) a run. */
export interface RunSpec {
  /** Experiment to log into; created when missing. */
  experiment: string;
  /** Human-readable run name (`mlflow.runName`). */
  runName: string;
  /** Tags set at creation (system tags such as `mlflow.user`, `mlflow.source.*` are added by the tracker). */
  tags?: Record<string, string>;
  /** Makes this run a child of another (`mlflow.parentRunId`). */
  parentRunId?: string;
  /** Re-open this existing run instead of creating one (resume logs into the same run). */
  resumeRunId?: string;
}

/** Where a person looks at a run. */
export interface RunView {
  /** The experiment's name. */
  readonly experiment: string;
  /** A shell command that opens the tracker's UI on the store that holds the run (a local store). */
  readonly command?: string;
  /** The run's page on a tracking server, once the run has reached it. */
  readonly url?: string;
}

/** A run that is being logged to. All methods may buffer; `flush` and `finish` deliver what was buffered. */
export interface TrackedRun {
  /** The run's id in the tracker's store (MLflow run id: 32 hex characters). */
  readonly runId: string;
  /** The experiment's id in the tracker's store. */
  readonly experimentId: string;
  /** The run's id on a remote server, when the tracker delivers to one and the run has reached it. */
  readonly remoteRunId?: string;
  /** Params are write-once: the same value again is fine, a different value is an error. */
  logParams(params: Record<string, string | number | boolean>): Promise<void>;
  /** Metrics only append; points are delivered in the order they were logged, exactly once. */
  logMetrics(points: MetricPoint[]): Promise<void>;
  /**
   * The highest step this run holds for `key`, or undefined when it holds none. A resumed training loop uses it to
   * log each (key, step) once: it repeats the steps after its last checkpoint, which were logged before the stop.
   */
  lastStep?(key: string): Promise<number | undefined>;
  /** Tags are last-write-wins. */
  setTags(tags: Record<string, string>): Promise<void>;
  /** Uploads a local file (or a folder, recursively) under `artifactPath` (default: the run's artifact root). */
  logArtifact(localPath: string, artifactPath?: string): Promise<void>;
  /** Delivers everything buffered; waits at most `timeoutMs` for an unreachable server, keeping the rest queued. */
  flush(timeoutMs?: number): Promise<void>;
  /** Sets a terminal status and end time, then flushes. */
  finish(status: Exclude<RunStatus, 'RUNNING'>): Promise<void>;
  /** How to look at the run (printed in the end-of-run summary); trackers without a UI leave it out. */
  view?(): RunView;
}

/** A tracker plugin: opens runs. */
export interface ExperimentTracker {
  /** Human-readable description of where runs go (`http://127.0.0.1:5000`, `file:./mlruns`). */
  readonly location: string;
  startRun(spec: RunSpec): Promise<TrackedRun>;
  /** Stops background delivery and releases resources. */
  close(): Promise<void>;
}

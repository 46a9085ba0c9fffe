/**
 * A trial of a sweep: a resolved recipe and its deterministic id (hash of the resolved recipe).
 *
 * Besides the recipe, a trial carries where it lives on disk. Trials run as separate `shnet run` processes, possibly
 * on other machines (a queue's workers), and a trial interrupted on one of them is resumed by another: so the recipe
 * is a file and the run folder is fixed in advance, both on storage every process of the sweep can reach.
 */
export interface Trial {
  readonly id: string;
  readonly recipe: Readonly<Record<string, unknown>>;
  /** The swept keys and their values in this trial (logged as params). */
  readonly assignment: Readonly<Record<string, unknown>>;
  /** The sweep the trial belongs to (queue jobs and logs are keyed by it). */
  readonly sweepId: string;
  /** The trial's resolved recipe as a file; `shnet run` of this file resolves to the trial's hash. */
  readonly recipeFile: string;
  /** The trial's run folder. When it holds a checkpoint, the trial continues from it (`shnet run --resume`). */
  readonly runDir: string;
  /** Where the trial's process output is appended. */
  readonly logFile: string;
  /** 1 for the first submission of the trial, one more for each retry (queue job ids include it). */
  readonly attempt: number;
  /** Environment for the trial's `shnet run`: the parent MLflow run and the sweep and trial ids. */
  readonly env: Readonly<Record<string, string>>;
}

export type TrialStatus = 'pending' | 'running' | 'done' | 'failed';

export interface TrialOutcome {
  readonly id: string;
  readonly status: TrialStatus;
  readonly runId?: string;
  readonly error?: string;
}

/** How a sweep asks an executor to run its trials. */
export interface ExecuteOptions {
  /** Stop starting trials after the first failure. */
  readonly failFast?: boolean;
  /** Aborted when the sweep is interrupted: stop starting trials and stop the running ones (they stay resumable). */
  readonly signal?: AbortSignal;
  /** Submit the trials and return without waiting (executors whose trials outlive the submitting process). */
  readonly detach?: boolean;
}

/** `executor`: runs the trials of a sweep (one after another, in parallel processes, or through a queue). */
export interface Executor {
  /** Where trials run, for the sweep's log line (`local, 2 in parallel`, `redis://host:6379 queue shnet`). */
  readonly description: string;
  /** Whether `detach` is possible: the trials keep running after the submitting process exits. */
  readonly detachable: boolean;
  execute(trials: readonly Trial[], onUpdate: (outcome: TrialOutcome) => void, options?: ExecuteOptions): Promise<TrialOutcome[]>;
  /** Releases connections. */
  close?(): Promise<void>;
}

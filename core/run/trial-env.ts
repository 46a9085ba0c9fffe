import type { ExperimentTracker, RunSpec } from '../contracts/tracker';

/**
 * How a sweep tells the `shnet run` of one of its trials where it belongs. Environment variables rather than CLI
 * options: they pass unchanged through every way a trial is started (a child process, a queue worker on another
 * machine), and `shnet run` of a plain recipe never sees them.
 */
export const TRIAL_ENV = {
  /** The run folder to create (instead of `<output>/<name>-<time>`): fixed, so another process can resume it. */
  runDir: 'SHNET_TRIAL_RUN_DIR',
  /** The sweep's parent MLflow run: the trial's run becomes its child (`mlflow.parentRunId`). */
  parentRunId: 'SHNET_SWEEP_PARENT_RUN_ID',
  sweepId: 'SHNET_SWEEP_ID',
  trialId: 'SHNET_TRIAL_ID',
} as const;

/** The run folder a sweep fixed for this process's run, if any. */
export function trialRunDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[TRIAL_ENV.runDir] || undefined;
}

/** The run's tracker, opening the run as a child of the sweep's parent run when this process is a sweep trial. */
export function asTrialTracker(tracker: ExperimentTracker | null, env: NodeJS.ProcessEnv = process.env): ExperimentTracker | null {
  const parentRunId = env[TRIAL_ENV.parentRunId];
  if (!parentRunId || !tracker) return tracker;
  return new TrialTracker(tracker, parentRunId, env[TRIAL_ENV.sweepId] ?? '', env[TRIAL_ENV.trialId] ?? '');
}

/** Adds the parent run, the sweep and trial ids, and the trial id in the run name to every run it opens. */
class TrialTracker implements ExperimentTracker {
  constructor(
    private readonly inner: ExperimentTracker,
    private readonly parentRunId: string,
    private readonly sweepId: string,
    private readonly trialId: string,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  startRun(spec: RunSpec) {
    return this.inner.startRun({
      ...spec,
      runName: this.trialId ? `${spec.runName}-${this.trialId}` : spec.runName,
      parentRunId: this.parentRunId,
      tags: { ...spec.tags, 'shnet.sweep_id': this.sweepId, 'shnet.trial_id': this.trialId },
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

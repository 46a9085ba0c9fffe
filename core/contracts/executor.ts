/** A trial of a sweep: a resolved recipe and its deterministic id (hash of the resolved recipe). */
export interface Trial {
  readonly id: string;
  readonly recipe: Readonly<Record<string, unknown>>;
  /** The swept keys and their values in this trial (logged as params). */
  readonly assignment: Readonly<Record<string, unknown>>;
}

export type TrialStatus = 'pending' | 'running' | 'done' | 'failed';

export interface TrialOutcome {
  readonly id: string;
  readonly status: TrialStatus;
  readonly runId?: string;
  readonly error?: string;
}

/** `executor`: runs the trials of a sweep (one after another, in parallel processes, or through a queue). */
export interface Executor {
  execute(trials: readonly Trial[], onUpdate: (outcome: TrialOutcome) => void): Promise<TrialOutcome[]>;
}

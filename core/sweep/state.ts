import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TrialStatus } from '../contracts/executor';
import { UsageError } from '../errors';
import { writeFileAtomic } from '../atomic-write';

/** What the sweep folder records about one trial. */
export interface TrialRecord {
  status: TrialStatus;
  /** How many times the trial was handed to an executor. */
  attempts: number;
  assignment: Record<string, unknown>;
  recipeFile: string;
  runDir: string;
  /** The trial's MLflow run id (in the store its run logged to), once known. */
  runId?: string;
  error?: string;
  updatedAt: string;
}

/** `sweep-state.json`: the sweep's progress, rewritten atomically on every change (a reader never sees half a file). */
export interface SweepState {
  version: 1;
  sweepId: string;
  sweepFile: string;
  recipe: string;
  /** The sweep's parent MLflow run (local id) and the id children were tagged with (the server's, when delivered). */
  parentRunId?: string;
  parentTag?: string;
  /** Trials by id, in plan order. */
  trials: Record<string, TrialRecord>;
}

export const STATE_FILE = 'sweep-state.json';

export function statePath(sweepDir: string): string {
  return join(sweepDir, STATE_FILE);
}

export function readState(sweepDir: string): SweepState | null {
  const path = statePath(sweepDir);
  if (!existsSync(path)) return null;
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as SweepState;
    if (state.version !== 1 || typeof state.trials !== 'object') throw new Error('unknown layout');
    return state;
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Written atomically: a reader (another executor, a resumed sweep) sees the old state or the new one. */
export function writeState(sweepDir: string, state: SweepState): void {
  const path = statePath(sweepDir);
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`);
}

/** Counts of trials by status. */
export function tally(state: SweepState): Record<TrialStatus, number> {
  const counts: Record<TrialStatus, number> = { pending: 0, running: 0, done: 0, failed: 0 };
  for (const trial of Object.values(state.trials)) counts[trial.status]++;
  return counts;
}

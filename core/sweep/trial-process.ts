import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Trial, TrialOutcome } from '../contracts/executor';
import { readCheckpointState } from '../train/checkpoint';
import { RunFolder } from '../run-folder';
import { TRIAL_ENV } from '../run/trial-env';
import { markTrialDone, TrialLock, trialDone } from './trial-lock';

/** Time a trial gets to stop after SIGTERM (it ends its step and marks its MLflow run KILLED) before SIGKILL. */
const STOP_GRACE_MS = 30_000;

/** The compiled CLI every trial runs (`shnet run`), next to this file in `dist/`. */
export function shnetCli(): string {
  return join(__dirname, '..', 'cli', 'main.js');
}

/** The checkpoint a trial continues from, when an earlier attempt finished at least one epoch. */
export function trialCheckpoint(runDir: string): string | undefined {
  const { last } = new RunFolder(runDir);
  return existsSync(last) ? last : undefined;
}

/** How long a trial's lock may go untouched before another process takes the trial over (core/sweep/trial-lock.ts). */
export const DEFAULT_TRIAL_LOCK_STALE_MS = 30_000;

export interface TrialProcessOptions {
  /** See {@link DEFAULT_TRIAL_LOCK_STALE_MS}; a queue worker passes its job lock duration. */
  readonly lockStaleMs?: number;
  /** Called when the trial is already being run elsewhere and this process waits for it. */
  readonly onWait?: (holder: string) => void;
}

/**
 * Runs one trial as a child process `shnet run RECIPE` — or `shnet run RECIPE --resume RUN_DIR` when the run folder
 * already holds a checkpoint — with its own process, DI container and TensorFlow.js backend. Output is appended to
 * the trial's log file. Aborting `signal` stops the trial (SIGTERM, then SIGKILL after a grace period); it is then
 * reported `running`: interrupted, resumable.
 *
 * A trial runs once: the run folder's lock makes a second request for it (a queue that handed it out twice) wait
 * for the first, and a finished trial is answered from its `trial-done.json` without running again.
 */
export async function runTrialProcess(trial: Trial, signal?: AbortSignal, onStart?: () => void, options: TrialProcessOptions = {}): Promise<TrialOutcome> {
  const finished = (): TrialOutcome | null => {
    const done = trialDone(trial.runDir);
    return done ? { id: trial.id, status: 'done', ...(done.runId ? { runId: done.runId } : {}) } : null;
  };
  const already = finished();
  if (already) return already;
  const lock = await TrialLock.acquire(trial.runDir, { staleMs: options.lockStaleMs ?? DEFAULT_TRIAL_LOCK_STALE_MS, signal, onWait: options.onWait });
  if (!lock) return { id: trial.id, status: 'running', error: 'interrupted' };
  try {
    const doneMeanwhile = finished();
    if (doneMeanwhile) return doneMeanwhile;
    const outcome = await spawnTrial(trial, signal, (pid) => {
      lock.addProcess(pid);
      onStart?.();
    });
    if (outcome.status === 'done') markTrialDone(trial.runDir, outcome.runId);
    return outcome;
  } finally {
    lock.release();
  }
}

function spawnTrial(trial: Trial, signal: AbortSignal | undefined, onStart: (pid: number) => void): Promise<TrialOutcome> {
  mkdirSync(dirname(trial.logFile), { recursive: true });
  const resume = trialCheckpoint(trial.runDir) !== undefined;
  const args = ['run', trial.recipeFile, ...(resume ? ['--resume', trial.runDir] : [])];
  const log = openSync(trial.logFile, 'a');
  writeSync(log, `\n== ${new Date().toISOString()} trial ${trial.id} attempt ${trial.attempt}: shnet ${args.join(' ')}\n`);
  const guard = join(__dirname, 'orphan-guard.js');
  const child = spawn(process.execPath, [...(existsSync(guard) ? ['-r', guard] : []), shnetCli(), ...args], {
    env: { ...process.env, ...trial.env, [TRIAL_ENV.runDir]: trial.runDir },
    stdio: ['pipe', log, log],
  });
  closeSync(log);
  if (child.pid !== undefined) onStart(child.pid);
  let stopTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    child.kill('SIGTERM');
    stopTimer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  };
  if (signal?.aborted) stop();
  else signal?.addEventListener('abort', stop, { once: true });
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ id: trial.id, status: 'failed', error: error.message }));
    child.once('exit', (code, killedBy) => {
      clearTimeout(stopTimer);
      signal?.removeEventListener('abort', stop);
      if (signal?.aborted) resolve({ id: trial.id, status: 'running', error: 'interrupted' });
      else if (code === 0) resolve({ id: trial.id, status: 'done', ...runIdOf(trial.runDir) });
      else resolve({ id: trial.id, status: 'failed', error: `shnet run exited with ${code ?? killedBy}: ${lastError(trial.logFile)}` });
    });
  });
}

/** The MLflow run id a finished trial logged to, as its checkpoint records it. */
function runIdOf(runDir: string): { runId?: string } {
  const checkpoint = trialCheckpoint(runDir);
  const runId = checkpoint ? readCheckpointState(checkpoint).trackerRunId : undefined;
  return runId ? { runId } : {};
}

/** The last `shnet: …` error line of a trial's log (what the CLI prints before exiting non-zero). */
function lastError(logFile: string): string {
  const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n');
  const errorLine = lines.lastIndexOf(lines.filter((l) => l.startsWith('shnet: ')).pop() ?? '');
  return errorLine >= 0 ? lines.slice(errorLine).join(' ').slice(0, 2000) : (lines.pop() ?? '').slice(0, 2000);
}

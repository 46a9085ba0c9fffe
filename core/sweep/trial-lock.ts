import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write';

/**
 * One trial runs in one place at a time, and a finished trial never runs again — whatever the queue says.
 *
 * A queue can hand the same trial out twice: Redis restarted and lost its jobs (the sweep submits them again while
 * the first run goes on), or it lost a worker's lock and re-dispatched a job that is still running. Both runs would
 * then write the same run folder, log the same steps twice and overwrite each other's evaluation. So the process
 * that runs a trial holds a lock file in the trial's run folder (on the storage every worker shares), touched every
 * `staleMs / 3`; another process wanting the trial waits for it, and takes it over only when it has not been
 * touched for `staleMs` (its holder died; the trial then resumes from its checkpoint). A trial that finished leaves
 * `trial-done.json` beside it, and every later request for it is answered from that file.
 *
 * Staleness is judged by watching the lock's modification time not change, never by comparing clocks, so workers on
 * machines whose clocks disagree still agree on it.
 */
export const TRIAL_LOCK_FILE = 'trial.lock';
export const TRIAL_DONE_FILE = 'trial-done.json';

/** What a finished trial recorded. */
export interface TrialDone {
  readonly runId?: string;
  readonly finishedAt: string;
  readonly by: string;
}

/** The record of a finished trial in `runDir`, or null. */
export function trialDone(runDir: string): TrialDone | null {
  const path = join(runDir, TRIAL_DONE_FILE);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TrialDone;
  } catch {
    return null; // a half-written record cannot exist (atomic write); an unreadable one is treated as absent
  }
}

/** Records that the trial in `runDir` finished. */
export function markTrialDone(runDir: string, runId: string | undefined): void {
  const done: TrialDone = { ...(runId ? { runId } : {}), finishedAt: new Date().toISOString(), by: owner() };
  mkdirSync(runDir, { recursive: true });
  writeFileAtomic(join(runDir, TRIAL_DONE_FILE), [Buffer.from(`${JSON.stringify(done)}\n`)]);
}

function owner(): string {
  return `${hostname()}:${process.pid}`;
}

export interface TrialLockOptions {
  /** A lock not touched for this long is its holder's no longer. */
  readonly staleMs: number;
  /** Gives up waiting (returns null) when aborted. */
  readonly signal?: AbortSignal;
  /** Called once when the lock is found held and this process starts waiting. */
  readonly onWait?: (holder: string) => void;
}

/** A held trial lock: touched in the background until released. */
export class TrialLock {
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(
    private readonly path: string,
    staleMs: number,
  ) {
    this.heartbeat = setInterval(() => this.touch(), Math.max(10, Math.floor(staleMs / 3)));
    this.heartbeat.unref();
  }

  /**
   * Waits until this process holds the lock of the trial in `runDir` and returns it, or null when `signal` aborts
   * first. A lock whose holder stopped touching it for `staleMs` is taken over.
   */
  static async acquire(runDir: string, options: TrialLockOptions): Promise<TrialLock | null> {
    mkdirSync(runDir, { recursive: true });
    const path = join(runDir, TRIAL_LOCK_FILE);
    const poll = Math.max(10, Math.floor(options.staleMs / 6));
    let waiting = false;
    let seen: { mtimeMs: number; since: number } | null = null;
    while (!options.signal?.aborted) {
      if (createExclusive(path, owner())) return new TrialLock(path, options.staleMs);
      const mtimeMs = mtimeOf(path);
      if (mtimeMs === null) continue; // released meanwhile: try again at once
      if (!waiting) {
        waiting = true;
        options.onWait?.(holderOf(path));
      }
      // A holder on this machine is known dead at once (its processes are gone) or alive (one still runs, even if
      // the holder stopped touching the lock: its trial process may still be finishing); elsewhere, by its silence.
      const here = processesHere(path);
      if (here === 'gone' && takeOver(path, mtimeMs)) return new TrialLock(path, options.staleMs);
      if (here === 'alive' || seen === null || seen.mtimeMs !== mtimeMs) seen = { mtimeMs, since: Date.now() };
      else if (Date.now() - seen.since >= options.staleMs && takeOver(path, mtimeMs)) return new TrialLock(path, options.staleMs);
      await sleep(poll, options.signal);
    }
    return null;
  }

  /**
   * Names a process that works for the holder (the trial's `shnet run`): on this machine, the lock is not taken
   * over while that process lives, even if the holder died (its child may still be finishing its step).
   */
  addProcess(pid: number): void {
    try {
      appendFileSync(this.path, `${hostname()}:${pid}\n`);
    } catch {
      // taken over meanwhile
    }
  }

  /** Stops touching the lock and removes it. */
  release(): void {
    clearInterval(this.heartbeat);
    try {
      unlinkSync(this.path);
    } catch {
      // already gone: a taker judged it stale (this process was stopped for longer than staleMs)
    }
  }

  private touch(): void {
    try {
      const now = new Date();
      utimesSync(this.path, now, now);
    } catch {
      // the lock was taken over; the holder learns nothing here, and its run is one a taker resumes
    }
  }
}

/** Creates `path` holding `content` only if it does not exist (atomically, also over NFS: a hard link). */
function createExclusive(path: string, content: string): boolean {
  const temporary = `${path}.${randomBytes(6).toString('hex')}`;
  writeFileSync(temporary, `${content}\n`);
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}

/**
 * Replaces a stale lock by this process's. Only one of several takers wins: each first creates `<lock>.takeover`
 * exclusively; the winner checks that the lock is still the stale one it watched, then writes its own over it.
 */
function takeOver(path: string, staleMtimeMs: number): boolean {
  const guard = `${path}.takeover`;
  if (!createExclusive(guard, owner())) {
    // A taker that died holding the guard would block every other: a guard older than the stale lock is stale too.
    const guardTime = mtimeOf(guard);
    if (guardTime !== null && guardTime < staleMtimeMs) removeIfUnchanged(guard, guardTime);
    return false;
  }
  try {
    if (mtimeOf(path) !== staleMtimeMs) return false;
    const fresh = `${path}.${randomBytes(6).toString('hex')}`;
    const fd = openSync(fresh, 'w');
    writeSync(fd, `${owner()}\n`);
    closeSync(fd);
    renameSync(fresh, path);
    return true;
  } finally {
    unlinkSync(guard);
  }
}

function removeIfUnchanged(path: string, mtimeMs: number): void {
  try {
    if (mtimeOf(path) === mtimeMs) unlinkSync(path);
  } catch {
    // removed by another process
  }
}

function mtimeOf(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/**
 * What the processes a lock names (`host:pid` lines) are, seen from this machine: `alive` when one of them runs
 * here, `gone` when all are of this machine and none runs, `elsewhere` when some are on other machines.
 */
function processesHere(path: string): 'alive' | 'gone' | 'elsewhere' {
  const lines = holderLines(path);
  let elsewhere = lines.length === 0;
  for (const line of lines) {
    const host = line.slice(0, line.lastIndexOf(':'));
    const pid = line.slice(line.lastIndexOf(':') + 1);
    if (host !== hostname() || !/^\d+$/.test(pid)) elsewhere = true;
    else if (isRunning(Number(pid))) return 'alive';
  }
  return elsewhere ? 'elsewhere' : 'gone';
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function holderLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  } catch {
    return [];
  }
}

function holderOf(path: string): string {
  return holderLines(path)[0] ?? 'another process';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const onAbort = () => {
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      done();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

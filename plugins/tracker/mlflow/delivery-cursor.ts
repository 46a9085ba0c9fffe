import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunFailure, writeFileAtomic } from 'shnet';
import type { StoredRun } from './file-store';

/**
 * What of one local run has reached one server. Saved next to the run's `meta.yaml` (MLflow ignores the file) after
 * every acknowledged request, so delivery resumes where it stopped after a crash, a restart or `shnet sync`.
 */
export interface DeliveryCursor {
  version: 1;
  /** The server (credentials removed) this cursor is about. */
  server: string;
  remoteExperimentId?: string;
  remoteRunId?: string;
  /** `runs/create` was sent but not acknowledged: look the run up by its `shnet.localRunId` tag before creating again. */
  creating?: boolean;
  /** Per metric key: byte offset in the local metric file up to which points are on the server. */
  metrics: Record<string, number>;
  /**
   * Per metric key: byte range `[from, to)` of a chunk sent without an answer. Metrics append on the server, so before
   * anything else is sent for these keys the range is compared with `metrics/get-history` and only missing points go.
   */
  inflight?: Record<string, [number, number]>;
  /** Per param / tag key: the value delivered (hashed, values can be long). */
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Per artifact path: `size:mtimeMs` of the uploaded file. */
  artifacts: Record<string, string>;
  /** `STATUS:endTime` last set on the server. */
  status?: string;
}

/** Short, stable digest used for cursor file names and delivered values. */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function cursorFile(run: StoredRun, server: string): string {
  return join(run.dir, `.shnet-delivery-${digest(server).slice(0, 8)}.json`);
}

export function loadCursor(run: StoredRun, server: string): DeliveryCursor {
  const file = cursorFile(run, server);
  if (!existsSync(file)) return { version: 1, server, metrics: {}, params: {}, tags: {}, artifacts: {} };
  return JSON.parse(readFileSync(file, 'utf8')) as DeliveryCursor;
}

/** Written to a temporary file and renamed, so a crash leaves the old cursor or the new one, never half of one. */
export function saveCursor(run: StoredRun, cursor: DeliveryCursor): void {
  const file = cursorFile(run, cursor.server);
  writeFileAtomic(file, JSON.stringify(cursor));
}

/** Another deliverer holds the run: try again later. */
export class DeliveryBusy extends RunFailure {}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the run's delivery lock for `server` (one deliverer per run and server, across processes: a training process
 * and `shnet sync` must not both send the same points). A lock left by a dead process is taken over.
 * Returns the release function.
 */
export function lockDelivery(run: StoredRun, server: string): () => void {
  const file = cursorFile(run, server).replace(/\.json$/, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(file, 'utf8'));
      if (owner === process.pid || processAlive(owner)) break;
      rmSync(file, { force: true });
    }
  }
  throw new DeliveryBusy(`run ${run.runId} is being delivered by another deliverer (lock ${file})`);
}

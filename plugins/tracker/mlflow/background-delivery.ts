import { DeliveryBusy, loadCursor } from './delivery-cursor';
import { deliverRun } from './deliver-run';
import type { FileStore, StoredRun } from './file-store';
import type { MlflowRestClient } from './rest-client';
import { type RetryPolicy, sleep } from './retry';

/** Where warnings go (the run's logger, or stderr). */
export type Warn = (message: string) => void;

interface WatchedRun {
  run: StoredRun;
  /** Passes of one run run one after another: this is the tail of its queue. */
  tail: Promise<void>;
  queued: number;
  /** Something was logged since the last pass started. */
  dirty: boolean;
  /** A server error retrying will not fix; background passes stop for this run (the data stays local for `shnet sync`). */
  failed?: string;
  lastWarning?: string;
}

/**
 * Sends the local store's runs to the server in the background. Training only ever appends to the local store; this
 * class wakes every `intervalMs`, delivers what changed, and keeps going (with the retry policy's backoff) while the
 * server is away. `flush` lets the caller wait a bounded time for a run to be fully delivered.
 */
export class BackgroundDelivery {
  private readonly runs = new Map<string, WatchedRun>();
  private readonly timer: NodeJS.Timeout;
  private readonly stop = new AbortController();

  constructor(
    private readonly store: FileStore,
    private readonly client: MlflowRestClient,
    private readonly options: { intervalMs: number; retry: RetryPolicy; warn: Warn },
  ) {
    this.timer = setInterval(() => this.tick(), options.intervalMs);
    // Delivery must not keep a finished program alive: what is left is in the local store.
    this.timer.unref();
  }

  watch(run: StoredRun): void {
    this.runs.set(run.runId, { run, tail: Promise.resolve(), queued: 0, dirty: true });
  }

  /** The server's id for a local run, once created there. */
  remoteRunId(run: StoredRun): string | undefined {
    return loadCursor(run, this.client.baseUrl).remoteRunId;
  }

  /** The server's address, without credentials. */
  get serverUrl(): string {
    return this.client.baseUrl;
  }

  /** The server's run and experiment ids of a local run, once created there. */
  remoteIds(run: StoredRun): { runId: string; experimentId: string } | undefined {
    const cursor = loadCursor(run, this.client.baseUrl);
    return cursor.remoteRunId && cursor.remoteExperimentId ? { runId: cursor.remoteRunId, experimentId: cursor.remoteExperimentId } : undefined;
  }

  /** Marks a run as having new data for the next background pass. */
  touch(runId: string): void {
    const watched = this.runs.get(runId);
    if (watched) watched.dirty = true;
  }

  /**
   * Delivers everything of `runId` logged so far, waiting at most `timeoutMs`. Returns true when all of it reached the
   * server; false when it is still queued (server unreachable or slow), in which case delivery goes on in the background.
   */
  async flush(runId: string, timeoutMs: number): Promise<boolean> {
    const watched = this.runs.get(runId);
    if (!watched) return true;
    const deadline = Date.now() + timeoutMs;
    const pass = this.enqueue(watched, deadline);
    const timeout = new AbortController();
    const outcome = await Promise.race([pass, sleep(timeoutMs, timeout.signal).then(() => false)]);
    timeout.abort();
    return outcome;
  }

  /** Stops background passes after a last bounded flush of every run. */
  async close(timeoutMs: number): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.runs.keys()].map((runId) => this.flush(runId, timeoutMs)));
    this.stop.abort();
  }

  private tick(): void {
    for (const watched of this.runs.values()) {
      if (watched.dirty && watched.queued === 0 && !watched.failed) {
        void this.enqueue(watched, Date.now() + this.options.retry.maxTotalMs);
      }
    }
  }

  private enqueue(watched: WatchedRun, deadline: number): Promise<boolean> {
    watched.queued++;
    const pass = watched.tail.then(() => this.deliver(watched, deadline));
    watched.tail = pass.then(() => undefined);
    return pass.finally(() => watched.queued--);
  }

  private async deliver(watched: WatchedRun, deadline: number): Promise<boolean> {
    if (this.stop.signal.aborted || Date.now() >= deadline) return false;
    watched.dirty = false;
    try {
      await deliverRun(this.store, watched.run, this.client, { deadline, signal: this.stop.signal });
      if (watched.lastWarning) this.options.warn(`MLflow: run ${watched.run.runId} delivered to ${this.client.baseUrl}`);
      watched.failed = watched.lastWarning = undefined;
      return true;
    } catch (error) {
      watched.dirty = true;
      if (error instanceof DeliveryBusy || this.stop.signal.aborted) return false;
      const message = (error as Error).message;
      if ((error as { status?: number }).status !== undefined) watched.failed = message;
      if (message !== watched.lastWarning) {
        const where = `run ${watched.run.runId} is kept in ${this.store.root}`;
        this.options.warn(`MLflow: ${message}; ${where} (deliver later with \`shnet sync\` if it does not recover)`);
      }
      watched.lastWarning = message;
      return false;
    }
  }
}

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { type MetricPoint, type RunStatus, type RunView, shellWord, type TrackedRun, UsageError } from 'shnet';

import type { BackgroundDelivery } from './background-delivery';
import type { FileStore, StoredRun } from './file-store';
import { paramValue, sanitizeKey, tagValue } from './keys';
import type { SecretRedactor } from './secrets';

/** What a run needs from the tracker that opened it. */
export interface RunServices {
  store: FileStore;
  redactor: SecretRedactor;
  /** Absent when logging locally only. */
  delivery?: BackgroundDelivery;
  flushTimeoutMs: number;
  /** Shared cache: sanitising is pure, and metric keys repeat every step. */
  keys: Map<string, string>;
}

function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/**
 * A run that writes every call to the local MLflow FileStore at once (synchronously, so a crash loses nothing that
 * returned) and lets the background delivery carry it to the server, when there is one.
 */
export class LocalFirstRun implements TrackedRun {
  constructor(
    private readonly services: RunServices,
    private readonly stored: StoredRun,
  ) {}

  get runId(): string {
    return this.stored.runId;
  }

  get experimentId(): string {
    return this.stored.experimentId;
  }

  /** The run's id on the server once it has been created there (undefined when local only, or not yet delivered). */
  get remoteRunId(): string | undefined {
    return this.services.delivery?.remoteRunId(this.stored);
  }

  /**
   * The local store opened in the real `mlflow ui` (MLflow 3.13+ opens a FileStore only when allowed to; see
   * docs/mlflow.md), and the run's page on the server once delivered there.
   */
  view(): RunView {
    const { store, delivery } = this.services;
    const experiment = store.listExperiments().find((e) => e.experimentId === this.stored.experimentId)?.name ?? this.stored.experimentId;
    const fromHere = relative(process.cwd(), store.root);
    const root = fromHere === '' ? '.' : fromHere.startsWith('..') || isAbsolute(fromHere) ? store.root : `./${fromHere}`;
    const command = `MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri ${shellWord(root)}`;
    const remote = delivery?.remoteIds(this.stored);
    return { experiment, command, ...(remote && delivery ? { url: `${delivery.serverUrl}/#/experiments/${remote.experimentId}/runs/${remote.runId}` } : {}) };
  }

  /** The local run folder (`mlruns/<experiment>/<run>`). */
  get localDir(): string {
    return this.stored.dir;
  }

  private key(key: string): string {
    let sanitized = this.services.keys.get(key);
    if (sanitized === undefined) {
      sanitized = sanitizeKey(key);
      this.services.keys.set(key, sanitized);
    }
    return sanitized;
  }

  private changed(): void {
    this.services.delivery?.touch(this.stored.runId);
  }

  async logParams(params: Record<string, string | number | boolean>): Promise<void> {
    const { store, redactor } = this.services;
    for (const [key, value] of Object.entries(params)) {
      store.setParam(this.stored, this.key(key), paramValue(redactor.text(String(value))));
    }
    this.changed();
  }

  async logMetrics(points: MetricPoint[]): Promise<void> {
    const now = Date.now();
    const rows = points.map((point) => {
      if (typeof point.value !== 'number') throw new UsageError(`metric '${point.key}': value must be a number, got ${typeof point.value}`);
      if (!Number.isSafeInteger(point.step)) throw new UsageError(`metric '${point.key}': step must be an integer, got ${point.step}`);
      const timestamp = point.timestamp ?? now;
      if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
        throw new UsageError(`metric '${point.key}': timestamp must be whole milliseconds ≥ 0, got ${timestamp}`);
      }
      return { key: this.key(point.key), value: point.value, step: point.step, timestamp };
    });
    this.services.store.appendMetrics(this.stored, rows);
    this.changed();
  }

  async lastStep(key: string): Promise<number | undefined> {
    let last: number | undefined;
    for (const point of this.services.store.readMetric(this.stored, this.key(key))) last = last === undefined ? point.step : Math.max(last, point.step);
    return last;
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    const { store, redactor } = this.services;
    for (const [key, value] of Object.entries(tags)) {
      store.setTag(this.stored, this.key(key), tagValue(redactor.text(String(value))));
    }
    this.changed();
  }

  async logArtifact(localPath: string, artifactPath?: string): Promise<void> {
    const target = this.services.store.copyArtifact(this.stored, localPath, artifactPath);
    // A resolved recipe or a log can quote a credential: the copy is cleaned, the user's file is left alone.
    for (const file of filesUnder(target)) {
      const cleaned = this.services.redactor.bytes(readFileSync(file));
      if (cleaned) writeFileSync(file, cleaned);
    }
    this.changed();
  }

  async flush(timeoutMs = this.services.flushTimeoutMs): Promise<void> {
    await this.services.delivery?.flush(this.stored.runId, timeoutMs);
  }

  async finish(status: Exclude<RunStatus, 'RUNNING'>): Promise<void> {
    this.services.store.setStatus(this.stored, status, Date.now());
    this.changed();
    await this.flush();
  }
}

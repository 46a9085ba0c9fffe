import { readFileSync, statSync } from 'node:fs';
import { type DeliveryCursor, digest, loadCursor, lockDelivery, saveCursor } from './delivery-cursor';
import { splitBatch } from './batching';
import type { FileStore, StoredMetricPoint, StoredRun } from './file-store';
import type { MlflowRestClient } from './rest-client';
import type { MlflowKeyValue, MlflowMetric } from './rest-types';
import { type CallLimits, TransientError } from './retry';

/**
 * Delivers one local run to a server: whatever its cursor says is not there yet, in order, exactly once.
 *
 * Order of a pass: create the run (tags included) → params → tags → metrics → artifacts → status. The status goes
 * last so a run shows as finished on the server only once all of its data is there.
 */

/** Tag on the remote run naming the local run it came from; finds a run whose `runs/create` answer was lost. */
export const LOCAL_RUN_ID_TAG = 'shnet.localRunId';
/** Points read from the local store per round, so a long offline backlog is sent without loading it all at once. */
const POINTS_PER_ROUND = 20_000;

/** What one pass delivered. */
export interface DeliveryReport {
  runId: string;
  remoteRunId?: string;
  params: number;
  tags: number;
  metrics: number;
  artifacts: number;
  /** The status set on the server in this pass, if any. */
  status?: string;
}

export interface DeliverOptions {
  /** Absolute `Date.now()` time after which no new request starts. */
  deadline?: number;
  /** Aborts the pass: the request in flight, retry waits, and everything after the next cursor save. */
  signal?: AbortSignal;
}

class Stopped extends Error {}

/** Identity of a metric point for matching against the server's history. */
const pointId = (p: { step: number; timestamp: number; value: number }) => `${p.step} ${p.timestamp} ${p.value}`;

/**
 * Delivers `run` from `store` to the server behind `client`. Throws on failure (transient failures after the retry
 * budget, or a server error); everything acknowledged before the failure is recorded in the cursor.
 */
export async function deliverRun(store: FileStore, run: StoredRun, client: MlflowRestClient, options: DeliverOptions = {}): Promise<DeliveryReport> {
  const release = lockDelivery(run, client.baseUrl);
  try {
    return await new RunDelivery(store, run, client, options).deliver();
  } catch (error) {
    if (error instanceof Stopped) return { runId: run.runId, params: 0, tags: 0, metrics: 0, artifacts: 0 };
    throw error;
  } finally {
    release();
  }
}

class RunDelivery {
  private readonly cursor: DeliveryCursor;
  private readonly report: DeliveryReport;
  private readonly limits: CallLimits;

  constructor(
    private readonly store: FileStore,
    private readonly run: StoredRun,
    private readonly client: MlflowRestClient,
    private readonly options: DeliverOptions,
  ) {
    this.cursor = loadCursor(run, client.baseUrl);
    this.report = { runId: run.runId, params: 0, tags: 0, metrics: 0, artifacts: 0 };
    this.limits = { deadline: options.deadline, signal: options.signal };
  }

  async deliver(): Promise<DeliveryReport> {
    const remoteRunId = await this.ensureCreated();
    this.report.remoteRunId = remoteRunId;
    await this.deliverParams(remoteRunId);
    await this.deliverTags(remoteRunId);
    await this.deliverMetrics(remoteRunId);
    await this.deliverArtifacts(remoteRunId);
    await this.deliverStatus(remoteRunId);
    return this.report;
  }

  private save(): void {
    saveCursor(this.run, this.cursor);
    if (this.options.signal?.aborted) throw new Stopped();
  }

  /** Tags as the server must see them: a local parent run id is replaced by that parent's remote id. */
  private async remoteTags(): Promise<Map<string, string>> {
    const tags = this.store.tags(this.run);
    const parent = tags.get('mlflow.parentRunId');
    const parentRun = parent ? this.store.findRun(parent) : undefined;
    if (parentRun) {
      tags.set('mlflow.parentRunId', await this.remoteParentId(parentRun));
    }
    tags.set(LOCAL_RUN_ID_TAG, this.run.runId);
    return tags;
  }

  /** The parent's remote id, creating the parent on the server first when it is not there yet (under its lock). */
  private async remoteParentId(parentRun: StoredRun): Promise<string> {
    const known = loadCursor(parentRun, this.client.baseUrl).remoteRunId;
    if (known) return known;
    const release = lockDelivery(parentRun, this.client.baseUrl);
    try {
      return await new RunDelivery(this.store, parentRun, this.client, this.options).ensureCreated();
    } finally {
      release();
    }
  }

  async ensureCreated(): Promise<string> {
    if (this.cursor.remoteRunId) return this.cursor.remoteRunId;
    const meta = this.store.readRunMeta(this.run);
    const experimentName = this.store.listExperiments().find((e) => e.experimentId === this.run.experimentId)?.name;
    const experimentId = await this.client.getOrCreateExperiment(experimentName ?? 'Default', this.limits);
    this.cursor.remoteExperimentId = experimentId;
    if (this.cursor.creating) {
      const filter = `tags.\`${LOCAL_RUN_ID_TAG}\` = '${this.run.runId}'`;
      const [found] = await this.client.searchRuns([experimentId], filter, [], this.limits);
      if (found) return this.created(found.info.run_id, [...(await this.remoteTags())]);
    }
    const tags = await this.remoteTags();
    this.cursor.creating = true;
    this.save();
    // Params, metrics and the status follow in later requests; tags ride along so the run is labelled from the start.
    const firstTags = [...tags].slice(0, 100).map(([key, value]) => ({ key, value }));
    const info = await this.client.createRun({ experimentId, runName: meta.runName, startTime: meta.startTime, tags: firstTags }, this.limits);
    return this.created(
      info.run_id,
      firstTags.map(({ key, value }) => [key, value]),
    );
  }

  private created(remoteRunId: string, tagsSent: [string, string][]): string {
    this.cursor.remoteRunId = remoteRunId;
    this.cursor.creating = false;
    for (const [key, value] of tagsSent) this.cursor.tags[key] = digest(value);
    this.report.tags += tagsSent.length;
    this.save();
    return remoteRunId;
  }

  /** Sends key/values not yet delivered with their current value, one acknowledged batch at a time. */
  private async deliverKeyValues(remoteRunId: string, kind: 'params' | 'tags', values: Map<string, string>) {
    const delivered = this.cursor[kind];
    const pending: MlflowKeyValue[] = [];
    for (const [key, value] of values) if (delivered[key] !== digest(value)) pending.push({ key, value });
    const batches = splitBatch({ metrics: [], params: kind === 'params' ? pending : [], tags: kind === 'tags' ? pending : [] });
    for (const batch of batches) {
      await this.client.logBatch(remoteRunId, batch, this.limits);
      for (const { key, value } of batch[kind]) delivered[key] = digest(value);
      this.report[kind] += batch[kind].length;
      this.save();
    }
  }

  private deliverParams(remoteRunId: string) {
    return this.deliverKeyValues(remoteRunId, 'params', this.store.params(this.run));
  }

  private async deliverTags(remoteRunId: string) {
    return this.deliverKeyValues(remoteRunId, 'tags', await this.remoteTags());
  }

  /** Sends pending metric points; a chunk whose outcome is unknown is resolved and the sending goes on. */
  private async deliverMetrics(remoteRunId: string): Promise<void> {
    for (let uncertain = 0; ; uncertain++) {
      try {
        await this.resolveInflight(remoteRunId);
        while (await this.deliverMetricRound(remoteRunId));
        return;
      } catch (error) {
        const outOfTime = Date.now() >= (this.limits.deadline ?? Infinity) || this.limits.signal?.aborted;
        if (!(error instanceof TransientError && error.maybeApplied) || uncertain >= 3 || outOfTime) throw error;
      }
    }
  }

  /**
   * A chunk whose request failed may have been applied, wholly or partly. Metrics append, so sending it again could
   * double points: compare with the server's history and send only the points it lacks.
   */
  private async resolveInflight(remoteRunId: string): Promise<void> {
    const inflight = this.cursor.inflight;
    if (!inflight) return;
    const missing: MlflowMetric[] = [];
    for (const [key, [from, to]] of Object.entries(inflight)) {
      const present = new Map<string, number>();
      for (const point of await this.client.getMetricHistory(remoteRunId, key, this.limits)) {
        present.set(pointId(point), (present.get(pointId(point)) ?? 0) + 1);
      }
      for (const point of this.store.readMetric(this.run, key, from).filter((p) => p.end <= to)) {
        const seen = present.get(pointId(point)) ?? 0;
        if (seen > 0) present.set(pointId(point), seen - 1);
        else missing.push({ key, value: point.value, timestamp: point.timestamp, step: point.step });
      }
    }
    for (const batch of splitBatch({ metrics: missing, params: [], tags: [] })) {
      await this.client.logBatch(remoteRunId, batch, this.limits);
    }
    for (const [key, [, to]] of Object.entries(inflight)) this.cursor.metrics[key] = to;
    this.report.metrics += missing.length;
    this.cursor.inflight = undefined;
    this.save();
  }

  /** Sends up to {@link POINTS_PER_ROUND} pending points; returns true when more may be pending. */
  private async deliverMetricRound(remoteRunId: string): Promise<boolean> {
    const pending: { key: string; point: StoredMetricPoint }[] = [];
    for (const key of this.store.metricKeys(this.run)) {
      const offset = this.cursor.metrics[key] ?? 0;
      if (this.store.metricSize(this.run, key) <= offset) continue;
      for (const point of this.store.readMetric(this.run, key, offset)) {
        pending.push({ key, point });
        if (pending.length >= POINTS_PER_ROUND) break;
      }
      if (pending.length >= POINTS_PER_ROUND) break;
    }
    if (pending.length === 0) return false;
    const metrics = pending.map(({ key, point }) => ({ key, value: point.value, timestamp: point.timestamp, step: point.step }));
    let sent = 0;
    for (const batch of splitBatch({ metrics, params: [], tags: [] })) {
      const chunk = pending.slice(sent, sent + batch.metrics.length);
      const ranges: Record<string, [number, number]> = {};
      for (const { key, point } of chunk) {
        ranges[key] ??= [this.cursor.metrics[key] ?? 0, point.end];
        ranges[key][1] = point.end;
      }
      this.cursor.inflight = ranges;
      this.save();
      await this.client.logBatch(remoteRunId, batch, this.limits);
      for (const [key, [, to]] of Object.entries(ranges)) this.cursor.metrics[key] = to;
      this.cursor.inflight = undefined;
      this.report.metrics += batch.metrics.length;
      sent += batch.metrics.length;
      this.save();
    }
    return pending.length >= POINTS_PER_ROUND;
  }

  private async deliverArtifacts(remoteRunId: string): Promise<void> {
    const experimentId = this.cursor.remoteExperimentId ?? (await this.client.getRun(remoteRunId, this.limits)).info.experiment_id;
    for (const path of this.store.artifactFiles(this.run)) {
      const file = this.store.artifactPath(this.run, path);
      const stat = statSync(file);
      const signature = `${stat.size}:${stat.mtimeMs}`;
      if (this.cursor.artifacts[path] === signature) continue;
      await this.client.uploadArtifact(experimentId, remoteRunId, path, readFileSync(file), this.limits);
      this.cursor.artifacts[path] = signature;
      this.report.artifacts++;
      this.save();
    }
  }

  private async deliverStatus(remoteRunId: string): Promise<void> {
    const meta = this.store.readRunMeta(this.run);
    const status = `${meta.status}:${meta.endTime ?? ''}`;
    if (this.cursor.status === status || (meta.status === 'RUNNING' && this.cursor.status === undefined)) return;
    await this.client.updateRun(remoteRunId, meta.status, meta.endTime ?? undefined, this.limits);
    this.cursor.status = status;
    this.report.status = meta.status;
    this.save();
  }
}

import { type ExperimentTracker, inject, injectable, LOGGER, optional, PLUGIN_ARGS, type RunSpec, type TrackedRun, UsageError } from 'shnet';

import { BackgroundDelivery } from './background-delivery';
import { connect, redactUri } from './connection';
import { digest, loadCursor, saveCursor } from './delivery-cursor';
import { FileStore, type StoredRun } from './file-store';
import { sanitizeKey, tagValue } from './keys';
import { LocalFirstRun, type RunServices } from './local-first-run';
import { type MlflowTrackerOptions, resolveSettings, type TrackerSettings } from './options';
import { MlflowRestClient } from './rest-client';
import { SecretRedactor } from './secrets';
import { currentUser, systemTags } from './system-tags';

/** The part of shnet's logger the tracker uses (warnings about delivery). */
export interface TrackerLogger {
  info(message: string): void;
  warn(message: string): void;
}

const stderrLogger: TrackerLogger = {
  info: (message) => process.stderr.write(`${message}\n`),
  warn: (message) => process.stderr.write(`warning: ${message}\n`),
};

/**
 * The `mlflow` tracker: every run is written to a local MLflow FileStore first; with a tracking server configured,
 * that store is the write-ahead log a background deliverer empties into the server, exactly once, across restarts.
 */
@injectable()
export class MlflowTracker implements ExperimentTracker {
  readonly location: string;
  private readonly settings: TrackerSettings;
  private readonly store: FileStore;
  private readonly client?: MlflowRestClient;
  private readonly redactor: SecretRedactor;
  private readonly logger: TrackerLogger;
  private delivery?: BackgroundDelivery;
  private readonly keys = new Map<string, string>();

  constructor(@inject(PLUGIN_ARGS) args: MlflowTrackerOptions, @inject(LOGGER) @optional() logger?: TrackerLogger) {
    this.settings = resolveSettings(args);
    this.logger = logger ?? stderrLogger;
    this.store = new FileStore(this.settings.storeRoot);
    this.redactor = new SecretRedactor(this.settings.serverUri);
    const { serverUri } = this.settings;
    if (serverUri) {
      this.client = new MlflowRestClient(connect(serverUri), {
        retry: this.settings.retry,
        requestTimeoutMs: this.settings.requestTimeoutMs,
      });
    }
    this.location = serverUri ? `${redactUri(serverUri)} (via file:${this.store.root})` : `file:${this.store.root}`;
  }

  async startRun(spec: RunSpec): Promise<TrackedRun> {
    this.store.ensureInitialized();
    const stored = spec.resumeRunId ? await this.reopen(spec.resumeRunId) : this.create(spec);
    const services = this.services();
    const run = new LocalFirstRun(services, stored);
    if (spec.resumeRunId && spec.tags) await run.setTags(spec.tags);
    services.delivery?.watch(stored);
    return run;
  }

  async close(): Promise<void> {
    await this.delivery?.close(this.settings.flushTimeoutMs);
    this.delivery = undefined;
  }

  private services(): RunServices {
    if (this.client && !this.delivery) {
      this.delivery = new BackgroundDelivery(this.store, this.client, {
        intervalMs: this.settings.deliveryIntervalMs,
        retry: this.settings.retry,
        warn: (message) => this.logger.warn(message),
      });
    }
    return {
      store: this.store,
      redactor: this.redactor,
      delivery: this.delivery,
      flushTimeoutMs: this.settings.flushTimeoutMs,
      keys: this.keys,
    };
  }

  private create(spec: RunSpec): StoredRun {
    const experimentId = this.store.getOrCreateExperiment(this.settings.experiment ?? spec.experiment);
    const run = this.store.createRun(experimentId, spec.runName, Date.now(), currentUser());
    const tags: Record<string, string> = { ...systemTags(), ...spec.tags, 'mlflow.runName': spec.runName };
    if (spec.parentRunId) tags['mlflow.parentRunId'] = spec.parentRunId;
    for (const [key, value] of Object.entries(tags)) {
      this.store.setTag(run, sanitizeKey(key), tagValue(this.redactor.text(value)));
    }
    return run;
  }

  /**
   * Re-opens a run to log into it again: a local run (by its id, or by the server id it was delivered as), or a run that
   * exists only on the server, which gets a local mirror with the same id so later points are delivered to it.
   */
  private async reopen(runId: string): Promise<StoredRun> {
    const run = this.store.findRun(runId) ?? this.findDelivered(runId) ?? (await this.mirrorRemote(runId));
    this.store.setStatus(run, 'RUNNING', null);
    return run;
  }

  private findDelivered(remoteRunId: string): StoredRun | undefined {
    if (!this.client) return undefined;
    for (const { experimentId } of this.store.listExperiments()) {
      for (const run of this.store.listRuns(experimentId)) {
        if (loadCursor(run, this.client.baseUrl).remoteRunId === remoteRunId) return run;
      }
    }
    return undefined;
  }

  private async mirrorRemote(runId: string): Promise<StoredRun> {
    if (!this.client) throw new UsageError(`cannot resume run ${runId}: it is not in ${this.store.root}`);
    const limits = { deadline: Date.now() + this.settings.flushTimeoutMs };
    const remote = await this.client.getRun(runId, limits).catch((error: Error) => {
      throw new UsageError(`cannot resume run ${runId}: not in ${this.store.root}, and the server says: ${error.message}`);
    });
    const experiment = await this.client.getExperiment(remote.info.experiment_id, limits);
    const local = this.store.getOrCreateExperiment(experiment.name);
    const runName = remote.info.run_name ?? runId;
    const run = this.store.createRun(local, runName, remote.info.start_time ?? Date.now(), currentUser(), runId);
    const cursor = loadCursor(run, this.client.baseUrl);
    cursor.remoteRunId = runId;
    cursor.remoteExperimentId = remote.info.experiment_id;
    // The server already holds these; the mirror keeps them so comparisons from the local store see the whole run.
    for (const { key, value } of remote.data.params ?? []) {
      this.store.setParam(run, key, value);
      cursor.params[key] = digest(value);
    }
    for (const { key, value } of remote.data.tags ?? []) {
      this.store.setTag(run, key, value);
      cursor.tags[key] = digest(value);
    }
    // Recorded as the server has it, so re-opening (RUNNING) is sent on the next delivery.
    cursor.status = `${remote.info.status}:${remote.info.end_time ?? ''}`;
    saveCursor(run, cursor);
    return run;
  }
}

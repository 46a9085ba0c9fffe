import { RunFailure } from 'shnet';
import type { ServerConnection } from './connection';
import type { LogBatch, MlflowExperiment, MlflowFileInfo, MlflowMetric, MlflowRun, MlflowRunInfo, MlflowRunStatus } from './rest-types';
import { type CallLimits, DEFAULT_RETRY, type RetryPolicy, TransientError, withRetry } from './retry';

/** The server answered with an error that retrying will not fix (`INVALID_PARAMETER_VALUE`, `RESOURCE_DOES_NOT_EXIST`…). */
export class MlflowApiError extends RunFailure {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** Client settings; credentials come in through {@link ServerConnection}. */
export interface RestClientOptions {
  retry?: RetryPolicy;
  /** One request's time limit; a request that times out may still have been applied. */
  requestTimeoutMs?: number;
}

/** Protobuf JSON spells non-finite doubles as strings; `JSON.stringify` would turn them into `null`. */
function encodeNonFinite(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  }
  return value;
}

function decodeMetric(raw: MlflowMetric): MlflowMetric {
  return {
    key: raw.key,
    value: Number(raw.value),
    timestamp: Number(raw.timestamp ?? 0),
    step: Number(raw.step ?? 0),
  };
}

/** Encodes each segment of an artifact path for a URL, keeping the `/` separators. */
const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

/**
 * A typed client for the MLflow tracking REST API (the subset listed in docs/mlflow.md), over Node's `fetch`.
 * Every call retries transient failures within the retry policy's time budget; `limits` shorten that budget when the
 * caller must not wait longer (a deadline) or stops waiting altogether (a signal).
 */
export class MlflowRestClient {
  private readonly retry: RetryPolicy;
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly connection: ServerConnection,
    options: RestClientOptions = {},
  ) {
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** The server's address without credentials. */
  get baseUrl(): string {
    return this.connection.baseUrl;
  }

  async getExperimentByName(name: string, limits?: CallLimits): Promise<MlflowExperiment | undefined> {
    try {
      const body = await this.call<{ experiment: MlflowExperiment }>(
        'GET',
        `experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`,
        undefined,
        limits,
      );
      return body.experiment;
    } catch (error) {
      if (error instanceof MlflowApiError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }

  /** Every active experiment (`experiments/search`, all pages). */
  async searchExperiments(limits?: CallLimits): Promise<MlflowExperiment[]> {
    const experiments: MlflowExperiment[] = [];
    let pageToken: string | undefined;
    do {
      const body = await this.call<{ experiments?: MlflowExperiment[]; next_page_token?: string }>(
        'POST',
        'experiments/search',
        { max_results: 1000, view_type: 'ACTIVE_ONLY', page_token: pageToken },
        limits,
      );
      experiments.push(...(body.experiments ?? []));
      pageToken = body.next_page_token || undefined;
    } while (pageToken);
    return experiments;
  }

  async getExperiment(experimentId: string, limits?: CallLimits): Promise<MlflowExperiment> {
    const query = `experiment_id=${encodeURIComponent(experimentId)}`;
    return (await this.call<{ experiment: MlflowExperiment }>('GET', `experiments/get?${query}`, undefined, limits)).experiment;
  }

  /** Finds the experiment by name, creating it when missing (tolerates a concurrent creation). */
  async getOrCreateExperiment(name: string, limits?: CallLimits): Promise<string> {
    const existing = await this.getExperimentByName(name, limits);
    if (existing) return existing.experiment_id;
    try {
      const body = await this.call<{ experiment_id: string }>('POST', 'experiments/create', { name }, limits);
      return body.experiment_id;
    } catch (error) {
      if (!(error instanceof MlflowApiError && error.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw error;
      const again = await this.getExperimentByName(name, limits);
      if (!again) throw error;
      return again.experiment_id;
    }
  }

  async createRun(
    request: { experimentId: string; runName: string; startTime: number; tags: { key: string; value: string }[] },
    limits?: CallLimits,
  ): Promise<MlflowRunInfo> {
    const body = await this.call<{ run: MlflowRun }>(
      'POST',
      'runs/create',
      {
        experiment_id: request.experimentId,
        run_name: request.runName,
        start_time: request.startTime,
        tags: request.tags,
      },
      limits,
    );
    return body.run.info;
  }

  async updateRun(runId: string, status: MlflowRunStatus, endTime?: number, limits?: CallLimits): Promise<void> {
    await this.call('POST', 'runs/update', { run_id: runId, status, end_time: endTime }, limits);
  }

  async getRun(runId: string, limits?: CallLimits): Promise<MlflowRun> {
    const body = await this.call<{ run: MlflowRun }>('GET', `runs/get?run_id=${encodeURIComponent(runId)}`, undefined, limits);
    return { ...body.run, data: { ...body.run.data, metrics: (body.run.data.metrics ?? []).map(decodeMetric) } };
  }

  /** All runs matching `filter` (MLflow's search syntax), following page tokens. */
  async searchRuns(experimentIds: string[], filter = '', orderBy: string[] = [], limits?: CallLimits): Promise<MlflowRun[]> {
    const runs: MlflowRun[] = [];
    let pageToken: string | undefined;
    do {
      const body = await this.call<{ runs?: MlflowRun[]; next_page_token?: string }>(
        'POST',
        'runs/search',
        { experiment_ids: experimentIds, filter, order_by: orderBy, max_results: 1000, page_token: pageToken },
        limits,
      );
      for (const run of body.runs ?? []) {
        runs.push({ ...run, data: { ...run.data, metrics: (run.data.metrics ?? []).map(decodeMetric) } });
      }
      pageToken = body.next_page_token || undefined;
    } while (pageToken);
    return runs;
  }

  /**
   * One `runs/log-batch` request; the caller keeps it within the limits (see `batching.ts`). Metrics append, so a batch
   * with metrics is not repeated after a failure that may have been applied: the error (`maybeApplied`) goes to the
   * caller, who checks the server's history first.
   */
  async logBatch(runId: string, batch: LogBatch, limits?: CallLimits): Promise<void> {
    await this.call('POST', 'runs/log-batch', { run_id: runId, ...batch }, limits, batch.metrics.length === 0);
  }

  /** Every point of one metric, following page tokens. */
  async getMetricHistory(runId: string, key: string, limits?: CallLimits): Promise<MlflowMetric[]> {
    const points: MlflowMetric[] = [];
    let pageToken: string | undefined;
    do {
      const query = `run_id=${encodeURIComponent(runId)}&metric_key=${encodeURIComponent(key)}`;
      const page = pageToken ? `&page_token=${encodeURIComponent(pageToken)}` : '';
      const body = await this.call<{ metrics?: MlflowMetric[]; next_page_token?: string }>('GET', `metrics/get-history?${query}${page}`, undefined, limits);
      points.push(...(body.metrics ?? []).map(decodeMetric));
      pageToken = body.next_page_token || undefined;
    } while (pageToken);
    return points;
  }

  /** Uploads one file through the server's artifact proxy (`--serve-artifacts`, the default). */
  async uploadArtifact(experimentId: string, runId: string, artifactPath: string, content: Buffer, limits?: CallLimits) {
    const path = `${encodeURIComponent(experimentId)}/${encodeURIComponent(runId)}/artifacts/${encodePath(artifactPath)}`;
    await this.request('PUT', `${this.baseUrl}/api/2.0/mlflow-artifacts/artifacts/${path}`, content, limits);
  }

  /** Lists one artifact directory of a run (`path` relative to the run's artifact root). */
  async listArtifacts(runId: string, path = '', limits?: CallLimits): Promise<MlflowFileInfo[]> {
    const query = `run_id=${encodeURIComponent(runId)}${path ? `&path=${encodeURIComponent(path)}` : ''}`;
    const body = await this.call<{ files?: MlflowFileInfo[] }>('GET', `artifacts/list?${query}`, undefined, limits);
    return body.files ?? [];
  }

  private async call<T = unknown>(method: 'GET' | 'POST', endpoint: string, body?: unknown, limits?: CallLimits, idempotent = true): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body, encodeNonFinite);
    const text = await this.request(method, `${this.baseUrl}/api/2.0/mlflow/${endpoint}`, payload, limits, idempotent);
    return (text ? JSON.parse(text) : {}) as T;
  }

  private request(method: string, url: string, body: string | Buffer | undefined, limits: CallLimits = {}, idempotent = true): Promise<string> {
    const deadline = limits.deadline ?? Infinity;
    const headers: Record<string, string> = {};
    if (typeof body === 'string') headers['content-type'] = 'application/json';
    if (body instanceof Buffer) headers['content-type'] = 'application/octet-stream';
    if (this.connection.authorization) headers.authorization = this.connection.authorization;
    // Shown in errors: the path only, never headers, and no query string (it may carry user data).
    const where = `${method} ${new URL(url).pathname}`;
    return withRetry(
      async () => {
        const timeout = Math.max(1, Math.min(this.requestTimeoutMs, deadline - Date.now()));
        let response: Response;
        try {
          const signals = [AbortSignal.timeout(timeout), ...(limits.signal ? [limits.signal] : [])];
          response = await fetch(url, { method, headers, body, signal: AbortSignal.any(signals) });
        } catch (error) {
          const cause = (error as { cause?: { code?: string } }).cause;
          const reason = cause?.code ?? (error as Error).name ?? 'network error';
          throw new TransientError(`${where} at ${this.baseUrl}: ${reason}`, reason !== 'ECONNREFUSED');
        }
        const text = await response.text().catch(() => '');
        if (response.ok) return text;
        if (response.status >= 500 || response.status === 429) {
          throw new TransientError(`${where} at ${this.baseUrl}: HTTP ${response.status}`, response.status !== 429);
        }
        let errorCode = `HTTP_${response.status}`;
        let message = text.slice(0, 500);
        try {
          const parsed = JSON.parse(text) as { error_code?: string; message?: string };
          errorCode = parsed.error_code ?? errorCode;
          message = parsed.message ?? message;
        } catch {
          // Not JSON (a proxy's HTML page, say): keep the raw head.
        }
        throw new MlflowApiError(response.status, errorCode, `${where} at ${this.baseUrl}: ${errorCode}: ${message}`);
      },
      this.retry,
      limits,
      idempotent,
    );
  }
}

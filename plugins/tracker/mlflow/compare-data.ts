import { UsageError } from 'shnet';
import type { FileStore, StoredRun } from './file-store';
import { matchesFilter, parseFilter } from './local-filter';
import type { MlflowRestClient } from './rest-client';

/** One run as `shnet compare` shows it: params and the latest value of each metric. */
export interface RunSummary {
  runId: string;
  runName: string;
  status: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
}

/** Which runs to compare: ids, or an experiment with an optional filter (MLflow syntax). */
export interface RunSelection {
  runIds?: readonly string[];
  experiment?: string;
  filter?: string;
}

function requireSelection(selection: RunSelection): void {
  if (!selection.runIds?.length && !selection.experiment) {
    throw new UsageError('name the runs to compare, or an experiment with --experiment');
  }
}

/** Runs from a tracking server: `runs/get` per id, or `runs/search` with the server's own filter. */
export async function serverRuns(client: MlflowRestClient, selection: RunSelection): Promise<RunSummary[]> {
  requireSelection(selection);
  const runs = selection.runIds?.length
    ? await Promise.all(selection.runIds.map((runId) => client.getRun(runId)))
    : await (async () => {
        const experiment = await client.getExperimentByName(selection.experiment!);
        if (!experiment) throw new UsageError(`experiment '${selection.experiment}' does not exist on ${client.baseUrl}`);
        return client.searchRuns([experiment.experiment_id], selection.filter ?? '', ['attributes.start_time ASC']);
      })();
  return runs.map((run) => ({
    runId: run.info.run_id,
    runName: run.info.run_name ?? '',
    status: run.info.status,
    params: Object.fromEntries((run.data.params ?? []).map(({ key, value }) => [key, value])),
    metrics: Object.fromEntries((run.data.metrics ?? []).map(({ key, value }) => [key, value])),
  }));
}

/** The value MLflow shows as a metric's latest: the point with the largest (step, timestamp, value). */
function latest(store: FileStore, run: StoredRun, key: string): number {
  let best = { step: -Infinity, timestamp: -Infinity, value: -Infinity };
  for (const point of store.readMetric(run, key)) {
    const later =
      point.step !== best.step ? point.step > best.step : point.timestamp !== best.timestamp ? point.timestamp > best.timestamp : point.value > best.value;
    if (later) best = point;
  }
  return best.value;
}

function summarize(store: FileStore, run: StoredRun): RunSummary & { tags: Record<string, string> } {
  const meta = store.readRunMeta(run);
  return {
    runId: run.runId,
    runName: meta.runName,
    status: meta.status,
    params: Object.fromEntries(store.params(run)),
    metrics: Object.fromEntries(store.metricKeys(run).map((key) => [key, latest(store, run, key)])),
    tags: Object.fromEntries(store.tags(run)),
  };
}

/** Runs from a local FileStore, filtered with the subset of MLflow's syntax in `local-filter.ts`. */
export function localRuns(store: FileStore, selection: RunSelection): RunSummary[] {
  requireSelection(selection);
  if (selection.runIds?.length) {
    return selection.runIds.map((runId) => {
      const run = store.findRun(runId);
      if (!run) throw new UsageError(`run ${runId} is not in ${store.root}`);
      return summarize(store, run);
    });
  }
  const experiment = store.listExperiments().find((e) => e.name === selection.experiment);
  if (!experiment) throw new UsageError(`experiment '${selection.experiment}' is not in ${store.root}`);
  const clauses = parseFilter(selection.filter ?? '');
  return store
    .listRuns(experiment.experimentId)
    .map((run) => ({ run, summary: summarize(store, run), meta: store.readRunMeta(run) }))
    .filter(({ summary, meta }) =>
      matchesFilter({ ...summary, attributes: { status: meta.status, run_name: meta.runName, start_time: meta.startTime } }, clauses),
    )
    .sort((a, b) => a.meta.startTime - b.meta.startTime)
    .map(({ summary: { tags: _tags, ...summary } }) => summary);
}

/** Tag every run of a sweep carries (the parent and each trial's run); trials also carry `mlflow.parentRunId`. */
export const SWEEP_TAG = 'shnet.sweep_id';
const PARENT_TAG = 'mlflow.parentRunId';

/** The trial runs of a sweep on a tracking server, found by tag across every experiment (or the one named). */
export async function serverSweepRuns(client: MlflowRestClient, sweepId: string, experiment?: string): Promise<RunSummary[]> {
  const ids = experiment
    ? [(await client.getExperimentByName(experiment))?.experiment_id ?? '']
    : (await client.searchExperiments()).map((e) => e.experiment_id);
  if (ids.filter(Boolean).length === 0) throw new UsageError(`no experiment${experiment ? ` '${experiment}'` : 's'} on ${client.baseUrl}`);
  const runs = await client.searchRuns(ids.filter(Boolean), `tags.\`${SWEEP_TAG}\` = '${sweepId.replaceAll("'", '')}'`, ['attributes.start_time ASC']);
  const trials = runs.filter((run) => (run.data.tags ?? []).some((t) => t.key === PARENT_TAG));
  if (runs.length === 0) throw new UsageError(`no runs of sweep ${sweepId} on ${client.baseUrl}`);
  return trials.map((run) => ({
    runId: run.info.run_id,
    runName: run.info.run_name ?? '',
    status: run.info.status,
    params: Object.fromEntries((run.data.params ?? []).map(({ key, value }) => [key, value])),
    metrics: Object.fromEntries((run.data.metrics ?? []).map(({ key, value }) => [key, value])),
  }));
}

/** The trial runs of a sweep in a local FileStore. */
export function localSweepRuns(store: FileStore, sweepId: string): RunSummary[] {
  const runs = store.listExperiments().flatMap(({ experimentId }) => store.listRuns(experimentId).map((run) => summarize(store, run)));
  const ofSweep = runs.filter((run) => run.tags[SWEEP_TAG] === sweepId);
  if (ofSweep.length === 0) throw new UsageError(`no runs of sweep ${sweepId} in ${store.root}`);
  return ofSweep.filter((run) => PARENT_TAG in run.tags).map(({ tags: _tags, ...summary }) => summary);
}

/** Runs ordered best first by `metric` (higher is better; runs without it last, in their previous order). */
export function rankBy(runs: RunSummary[], metric: string): RunSummary[] {
  const score = (run: RunSummary) => (metric in run.metrics && Number.isFinite(run.metrics[metric]) ? run.metrics[metric] : -Infinity);
  return [...runs].sort((a, b) => score(b) - score(a));
}

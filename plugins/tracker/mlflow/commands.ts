import type { Command } from 'commander';
import { type CliCommandContribution, UsageError } from 'shnet';

import { localRuns, localSweepRuns, rankBy, serverRuns, serverSweepRuns } from './compare-data';
import type { RunSummary } from './compare-data';
import { defaultRankMetric } from './compare-columns';
import { buildComparison, type CompareFormat, formatComparison } from './compare-format';
import { connect, isServerUri, redactUri } from './connection';
import { FileStore } from './file-store';
import { MlflowRestClient } from './rest-client';
import { syncRuns } from './sync';

/** Where command output goes; tests pass their own. */
export type Out = (text: string) => void;
const stdout: Out = (text) => void process.stdout.write(text);

export interface SyncOptions {
  store: string;
  trackingUri?: string;
}

/** `shnet sync`: delivers pending local runs and prints one line per run. */
export async function runSync(runIds: string[], options: SyncOptions, out: Out = stdout): Promise<void> {
  const uri = options.trackingUri ?? process.env.MLFLOW_TRACKING_URI;
  if (!uri || !isServerUri(uri)) {
    throw new UsageError('shnet sync needs a server: pass --tracking-uri http://host:port or set MLFLOW_TRACKING_URI');
  }
  const reports = await syncRuns(options.store, uri, runIds);
  out(`delivering ${options.store} to ${redactUri(uri)}\n`);
  for (const report of reports) {
    const sent = [
      report.params && `${report.params} params`,
      report.tags && `${report.tags} tags`,
      report.metrics && `${report.metrics} metric points`,
      report.artifacts && `${report.artifacts} artifacts`,
      report.status && `status ${report.status}`,
    ].filter(Boolean);
    out(`${report.runId} -> ${report.remoteRunId}: ${sent.length ? sent.join(', ') : 'up to date'}\n`);
  }
}

export interface CompareOptions {
  experiment?: string;
  filter?: string;
  metrics?: string;
  format: string;
  trackingUri?: string;
  store?: string;
  /** The trial runs of this sweep (`shnet sweep` prints its id), ranked by `metric`. */
  sweep?: string;
  metric?: string;
}

const FORMATS: readonly CompareFormat[] = ['table', 'md', 'csv', 'json'];

/**
 * `shnet compare`: fetches the runs (server or local store), ranks them best first (`--metric`, else test/rsum or
 * rsum; a sweep's trials by rsum), then formats the differences — the same order in every format.
 */
export async function runCompare(runIds: string[], options: CompareOptions, out: Out = stdout): Promise<void> {
  if (!FORMATS.includes(options.format as CompareFormat)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}; got '${options.format}'`);
  }
  const selection = { runIds, experiment: options.experiment, filter: options.filter };
  const uri = options.store ? undefined : (options.trackingUri ?? process.env.MLFLOW_TRACKING_URI);
  const server = uri && isServerUri(uri) ? new MlflowRestClient(connect(uri)) : undefined;
  const store = new FileStore(options.store ?? uri ?? './mlruns');
  let runs: RunSummary[];
  if (options.sweep) {
    if (runIds.length > 0) throw new UsageError('give either run ids or --sweep, not both');
    runs = server ? await serverSweepRuns(server, options.sweep, options.experiment) : localSweepRuns(store, options.sweep);
    runs = rankBy(runs, options.metric ?? 'val/rsum');
  } else {
    runs = server ? await serverRuns(server, selection) : localRuns(store, selection);
    const rankMetric = options.metric ?? defaultRankMetric(runs);
    if (rankMetric) runs = rankBy(runs, rankMetric);
  }
  const metrics = options.metrics
    ?.split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const shown = options.metric && metrics?.length && !metrics.includes(options.metric) ? [options.metric, ...metrics] : metrics;
  out(formatComparison(buildComparison(runs, shown), options.format as CompareFormat));
}

export const syncCommand: CliCommandContribution = {
  name: 'sync',
  register(program: Command) {
    program
      .command('sync')
      .description('deliver local MLflow runs (logged offline or during an outage) to the tracking server')
      .argument('[runs...]', 'local run ids (default: every run of the store; delivered runs send nothing)')
      .option('--store <dir>', 'local MLflow store', './mlruns')
      .option('--tracking-uri <uri>', 'MLflow server (default: $MLFLOW_TRACKING_URI)')
      .action((runs: string[], options: SyncOptions) => runSync(runs, options));
  },
};

export const compareCommand: CliCommandContribution = {
  name: 'compare',
  register(program: Command) {
    program
      .command('compare')
      .description('table of the params that differ between runs, and their metrics')
      .argument('[runs...]', 'run ids (or use --experiment or --sweep)')
      .option('--experiment <name>', 'compare the runs of this experiment')
      .option('--filter <expr>', 'MLflow filter, e.g. "params.`loss.type` = \'triplet\' AND metrics.`val/rsum` > 400"')
      .option('--metrics <list>', 'comma-separated metric keys (default: every val/i2t/*, val/t2i/* and val/rsum)')
      .option('--format <format>', 'table | md | csv | json', 'table')
      .option('--tracking-uri <uri>', 'MLflow server (default: $MLFLOW_TRACKING_URI, else the local store)')
      .option('--store <dir>', 'read this local MLflow store instead of a server')
      .option('--sweep <id>', 'the trial runs of a sweep (the id `shnet sweep` prints), ranked by --metric')
      .option('--metric <key>', 'rank runs by this metric, highest first (default: test/rsum when present, else val/rsum; with --sweep: val/rsum)')
      .action((runs: string[], options: CompareOptions) => runCompare(runs, options));
  },
};

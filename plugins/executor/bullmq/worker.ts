import type { Command } from 'commander';
import { hostname } from 'node:os';
import { type CliCommandContribution, runTrialProcess, type Trial, UsageError } from 'shnet';

import { bullmq, describeRedis, redisConnection, type TrialJobData, type TrialJobResult } from './options';

export interface WorkerOptions {
  queue: string;
  concurrency: string;
  redisUrl?: string;
  lockDurationMs: string;
  stalledIntervalMs: string;
  maxStalledCount: string;
}

function positive(value: string, flag: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, got '${value}'`);
  return n;
}

/**
 * `shnet worker`: takes trial jobs from a queue and runs each as a child `shnet run` (resuming it when its run folder
 * holds a checkpoint). Runs until SIGINT or SIGTERM; then it stops its trials and leaves their jobs to the stalled-job
 * check, so another worker resumes them.
 */
export async function runWorker(options: WorkerOptions, log = (line: string) => void process.stderr.write(`${line}\n`)): Promise<void> {
  const name = `${hostname()}:${process.pid}`;
  const stop = new AbortController();
  const lockDuration = positive(options.lockDurationMs, '--lock-duration-ms');
  const where = describeRedis(options.redisUrl);
  const worker = new (bullmq().Worker)<TrialJobData, TrialJobResult>(
    options.queue,
    async (job) => {
      const trial = { ...job.data.trial, recipe: {} } as Trial;
      log(`worker ${name}: trial ${trial.id} of sweep ${trial.sweepId} (attempt ${trial.attempt}, job ${job.id})`);
      // A trial handed out twice (Redis restarted, a lock lost) waits for the run already going on: the trial
      // holds its run folder's lock for as long as a job holds its own (core/sweep/trial-lock.ts).
      const outcome = await runTrialProcess(trial, stop.signal, undefined, {
        lockStaleMs: lockDuration,
        onWait: (holder) => log(`worker ${name}: trial ${trial.id} is being run by ${holder}; waiting for it instead of running it twice`),
      });
      if (stop.signal.aborted) return new Promise<never>(() => undefined); // left to the stalled-job check
      log(`worker ${name}: trial ${trial.id} ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`);
      if (outcome.status !== 'done') throw new Error(outcome.error ?? `trial ${trial.id} ${outcome.status}`);
      return { worker: name, ...(outcome.runId ? { runId: outcome.runId } : {}) };
    },
    {
      connection: redisConnection(options.redisUrl),
      concurrency: positive(options.concurrency, '--concurrency'),
      lockDuration,
      stalledInterval: positive(options.stalledIntervalMs, '--stalled-interval-ms'),
      maxStalledCount: positive(options.maxStalledCount, '--max-stalled-count', 0),
    },
  );
  // Every failed reconnect is an 'error': say the first of an outage, and when Redis is back.
  let down = false;
  worker.on('error', (error) => {
    if (!down) log(`worker ${name}: Redis at ${where}: ${error.message}; retrying (Ctrl-C stops the worker)`);
    down = true;
  });
  // Signals count from the start: a worker waiting for an unreachable Redis must stop when asked.
  const stopped = new Promise<void>((done) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log(`worker ${name}: ${signal}: stopping running trials; their jobs go back to the queue`);
      stop.abort();
      done();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  await Promise.race([worker.waitUntilReady(), stopped]);
  if (!stop.signal.aborted) {
    (await worker.client).on('ready', () => {
      if (down) log(`worker ${name}: Redis at ${where} is back`);
      down = false;
    });
    down = false;
    log(`worker ${name}: waiting for trials on queue '${options.queue}' at ${where}`);
    await stopped;
  }
  // Give the trials their time to stop (they end their step and mark their runs KILLED), then leave without settling.
  await new Promise((done) => setTimeout(done, 1000));
  await worker.close(true);
}

export const workerCommand: CliCommandContribution = {
  name: 'worker',
  register(program: Command) {
    program
      .command('worker')
      .description('run sweep trials from a BullMQ queue in Redis ($REDIS_URL); run one per machine (or more)')
      .option('--queue <name>', 'queue to take trials from', 'shnet')
      .option('--concurrency <n>', 'trials run at once by this worker', '1')
      .option('--redis-url <url>', 'Redis (default: $REDIS_URL)')
      .option('--lock-duration-ms <ms>', "how long a job stays owned without a heartbeat (a dead worker's trial waits this long)", '30000')
      .option('--stalled-interval-ms <ms>', 'how often this worker looks for jobs whose owner died', '30000')
      .option('--max-stalled-count <n>', 'times a trial may be taken over from a dead worker before it fails', '3')
      .action((options: WorkerOptions) => runWorker(options));
  },
};

import {
  type ExecuteOptions,
  type Executor,
  inject,
  injectable,
  LOGGER,
  type Logger,
  PLUGIN_ARGS,
  type Trial,
  type TrialOutcome,
  type TrialStatus,
  UsageError,
} from 'shnet';
import type { ConnectionOptions, Job, Queue } from 'bullmq';

import { bullmq, type BullmqExecutorOptions, describeRedis, jobId, redisConnection, type TrialJobData, type TrialJobResult, untilAborted } from './options';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Puts every trial on a BullMQ queue in Redis as one job; `shnet worker` processes on any machine run them. The
 * sweep then reads the jobs' states until all are settled (or returns at once when detached). A worker that dies
 * mid-trial stops renewing its job's lock; BullMQ's stalled-job check hands the job to another worker, which
 * resumes the trial from the checkpoint in its run folder.
 *
 * A job that vanished (Redis restarted without its data, or it was removed by hand) is submitted again. That can
 * hand out a trial that is still running, or already finished: the trial's run-folder lock and `trial-done.json`
 * (core/sweep/trial-lock.ts) make the second job wait for the first run and report its outcome, so no trial runs
 * twice. Redis that cannot be reached is said at once, and a sweep interrupted while it waits for Redis stops.
 */
@injectable()
export class BullmqExecutor implements Executor {
  readonly detachable = true;
  readonly description: string;
  private queue?: Queue<TrialJobData, TrialJobResult>;
  private readonly connection: ConnectionOptions;

  constructor(
    @inject(PLUGIN_ARGS) private readonly options: BullmqExecutorOptions,
    @inject(LOGGER) private readonly logger: Logger,
  ) {
    this.connection = redisConnection(options.redisUrl); // a missing $REDIS_URL fails before anything is written
    this.description = `bullmq queue '${options.queue}' on ${describeRedis(options.redisUrl)}`;
  }

  async execute(trials: readonly Trial[], onUpdate: (outcome: TrialOutcome) => void, options: ExecuteOptions = {}): Promise<TrialOutcome[]> {
    const outcomes = new Map<string, TrialOutcome>(trials.map((t) => [t.id, { id: t.id, status: 'pending' }]));
    const queue = await this.open(options.signal);
    if (!queue) return [...outcomes.values()];
    const ids = new Map(trials.map((t) => [t.id, jobId(t.sweepId, t.id, t.attempt)]));
    const submit = (trial: Trial) => {
      const { recipe: _recipe, ...data } = trial;
      return untilAborted(
        queue.add('trial', { trial: data }, { jobId: ids.get(trial.id), attempts: 1, removeOnComplete: false, removeOnFail: false }),
        options.signal,
      );
    };
    for (const trial of trials) await submit(trial);
    if (options.detach || options.signal?.aborted) return [...outcomes.values()];

    const settled = (status: TrialStatus) => status === 'done' || status === 'failed';
    while (!options.signal?.aborted && [...outcomes.values()].some((o) => !settled(o.status))) {
      for (const trial of trials) {
        const known = outcomes.get(trial.id)!;
        if (settled(known.status)) continue;
        const job: Job<TrialJobData, TrialJobResult> | undefined | null = await untilAborted(queue.getJob(ids.get(trial.id)!), options.signal);
        if (options.signal?.aborted) break;
        if (!job) {
          // Gone from Redis (restarted without its data, or removed by hand): submit it again. A run of it still
          // going on, or finished, answers the new job through its run folder; the trial does not run twice.
          this.logger.warn(`trial ${trial.id}: its job is gone from Redis; submitted again`);
          await submit(trial);
          continue;
        }
        const state = await untilAborted(job.getState(), options.signal);
        if (state === undefined) break;
        const outcome: TrialOutcome =
          state === 'completed'
            ? { id: trial.id, status: 'done', ...(job.returnvalue?.runId ? { runId: job.returnvalue.runId } : {}) }
            : state === 'failed'
              ? { id: trial.id, status: 'failed', error: job.failedReason }
              : { id: trial.id, status: state === 'active' ? 'running' : 'pending' };
        if (outcome.status !== known.status) {
          outcomes.set(trial.id, outcome);
          onUpdate(outcome);
        }
      }
      if (options.failFast && [...outcomes.values()].some((o) => o.status === 'failed')) {
        await this.withdrawWaiting(trials, ids, outcomes);
        break;
      }
      await sleep(this.options.pollIntervalMs);
    }
    return trials.map((t) => outcomes.get(t.id)!);
  }

  /** Fail-fast: jobs no worker has taken yet are removed; running ones finish. */
  private async withdrawWaiting(trials: readonly Trial[], ids: Map<string, string>, outcomes: Map<string, TrialOutcome>): Promise<void> {
    for (const trial of trials) {
      const job = await this.queue!.getJob(ids.get(trial.id)!);
      if (job && ['waiting', 'delayed', 'prioritized'].includes(await job.getState())) {
        await job.remove();
        outcomes.set(trial.id, { id: trial.id, status: 'pending' });
      }
    }
  }

  /**
   * The queue, connected, or undefined when `signal` aborted first. Redis that does not answer within
   * `connectTimeoutMs` is a {@link UsageError} naming it (exit 2); an outage later in the sweep is logged when it
   * starts and when Redis is back, and the sweep waits for it.
   */
  private async open(signal: AbortSignal | undefined): Promise<Queue<TrialJobData, TrialJobResult> | undefined> {
    if (this.queue) return this.queue;
    const where = describeRedis(this.options.redisUrl);
    const queue = new (bullmq().Queue)<TrialJobData, TrialJobResult>(this.options.queue, { connection: this.connection });
    let lastError = 'no answer';
    let down = false;
    queue.on('error', (error: Error) => {
      lastError = error.message;
      if (this.queue && !down) {
        down = true;
        this.logger.warn(`lost Redis at ${where} (${error.message}); the sweep waits for it (Ctrl-C stops it, --resume continues)`);
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((done) => {
      timer = setTimeout(() => done('timeout'), this.options.connectTimeoutMs);
    });
    try {
      const outcome = await untilAborted(Promise.race([queue.waitUntilReady().then(() => 'ready' as const), deadline]), signal);
      if (outcome !== 'ready') {
        await queue.close();
        if (outcome === 'timeout') {
          throw new UsageError(
            `cannot reach Redis at ${where} (${lastError}) within ${this.options.connectTimeoutMs / 1000} s: start it, or point ` +
              "REDIS_URL (or the executor's redisUrl) at one that runs",
          );
        }
        return undefined;
      }
    } finally {
      clearTimeout(timer);
    }
    (await queue.client).on('ready', () => {
      if (down) this.logger.info(`Redis at ${where} is back`);
      down = false;
    });
    this.queue = queue;
    return queue;
  }

  async close(): Promise<void> {
    await this.queue?.close();
    this.queue = undefined;
  }
}

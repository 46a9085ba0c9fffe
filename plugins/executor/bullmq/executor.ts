import { type ExecuteOptions, type Executor, inject, injectable, PLUGIN_ARGS, type Trial, type TrialOutcome, type TrialStatus } from 'shnet';
import type { ConnectionOptions, Queue } from 'bullmq';

import { bullmq, type BullmqExecutorOptions, describeRedis, jobId, redisConnection, type TrialJobData, type TrialJobResult } from './options';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * Puts every trial on a BullMQ queue in Redis as one job; `shnet worker` processes on any machine run them. The
 * sweep then reads the jobs' states until all are settled (or returns at once when detached). A worker that dies
 * mid-trial stops renewing its job's lock; BullMQ's stalled-job check hands the job to another worker, which
 * resumes the trial from the checkpoint in its run folder.
 */
@injectable()
export class BullmqExecutor implements Executor {
  readonly detachable = true;
  readonly description: string;
  private queue?: Queue<TrialJobData, TrialJobResult>;
  private readonly connection: ConnectionOptions;

  constructor(@inject(PLUGIN_ARGS) private readonly options: BullmqExecutorOptions) {
    this.connection = redisConnection(options.redisUrl); // a missing $REDIS_URL fails before anything is written
    this.description = `bullmq queue '${options.queue}' on ${describeRedis(options.redisUrl)}`;
  }

  async execute(trials: readonly Trial[], onUpdate: (outcome: TrialOutcome) => void, options: ExecuteOptions = {}): Promise<TrialOutcome[]> {
    this.queue ??= new (bullmq().Queue)<TrialJobData, TrialJobResult>(this.options.queue, { connection: this.connection });
    const queue = this.queue;
    const ids = new Map(trials.map((t) => [t.id, jobId(t.sweepId, t.id, t.attempt)]));
    const submit = (trial: Trial) => {
      const { recipe: _recipe, ...data } = trial;
      return queue.add('trial', { trial: data }, { jobId: ids.get(trial.id), attempts: 1, removeOnComplete: false, removeOnFail: false });
    };
    for (const trial of trials) await submit(trial);
    const outcomes = new Map<string, TrialOutcome>(trials.map((t) => [t.id, { id: t.id, status: 'pending' }]));
    if (options.detach) return [...outcomes.values()];

    const settled = (status: TrialStatus) => status === 'done' || status === 'failed';
    while (!options.signal?.aborted && [...outcomes.values()].some((o) => !settled(o.status))) {
      for (const trial of trials) {
        const known = outcomes.get(trial.id)!;
        if (settled(known.status)) continue;
        const job = await queue.getJob(ids.get(trial.id)!);
        if (!job) {
          await submit(trial); // removed from Redis by hand: submit it again
          continue;
        }
        const state = await job.getState();
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

  async close(): Promise<void> {
    await this.queue?.close();
    this.queue = undefined;
  }
}

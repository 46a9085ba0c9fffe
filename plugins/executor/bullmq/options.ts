import { type Static, type Trial, Type, UsageError } from 'shnet';
import type { ConnectionOptions } from 'bullmq';

export const bullmqExecutorOptions = Type.Object(
  {
    queue: Type.String({ minLength: 1, pattern: '^[^:]+$', default: 'shnet', description: 'BullMQ queue the trials go to (workers: `shnet worker --queue`)' }),
    redisUrl: Type.Optional(Type.String({ description: 'Redis (`redis://host:6379/0`). Default: $REDIS_URL' })),
    pollIntervalMs: Type.Integer({ minimum: 10, default: 500, description: 'how often the waiting sweep reads the jobs’ states' }),
    connectTimeoutMs: Type.Integer({
      minimum: 1,
      default: 10000,
      description: 'how long the sweep tries to reach Redis before it gives up (exit 2) instead of waiting silently',
    }),
  },
  { additionalProperties: false },
);

export type BullmqExecutorOptions = Static<typeof bullmqExecutorOptions>;

/** BullMQ, loaded when a sweep or worker first needs it: every other command starts without its ~0.25 s load time. */
export function bullmq(): typeof import('bullmq') {
  return require('bullmq') as typeof import('bullmq');
}

/** The queue's Redis: the option, else $REDIS_URL. BullMQ needs `maxRetriesPerRequest: null` for blocking commands. */
export function redisConnection(url: string | undefined): ConnectionOptions {
  const resolved = url || process.env.REDIS_URL;
  if (!resolved) throw new UsageError('the bullmq executor needs Redis: set REDIS_URL (redis://host:6379) or executor args.redisUrl');
  return { url: resolved, maxRetriesPerRequest: null };
}

/** The Redis location without credentials, for log lines. */
export function describeRedis(url: string | undefined): string {
  const resolved = url || process.env.REDIS_URL || '';
  try {
    const parsed = new URL(resolved);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return 'redis';
  }
}

/** Queue jobs carry the trial without its recipe tree: the recipe file, on shared storage, is what a worker runs. */
export interface TrialJobData {
  readonly trial: Omit<Trial, 'recipe'>;
}

/** What a worker reports for a finished trial. */
export interface TrialJobResult {
  readonly runId?: string;
  readonly worker: string;
}

/** One job per trial submission: a retry is a new job, re-submitting the same attempt finds the existing one. */
export function jobId(sweepId: string, trialId: string, attempt: number): string {
  return `${sweepId}-${trialId}-${attempt}`;
}

/** Resolves with `promise`, or with `undefined` as soon as `signal` aborts (the promise is then left to settle alone). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

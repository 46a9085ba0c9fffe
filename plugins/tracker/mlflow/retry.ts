/**
 * Retrying transient failures: exponential backoff with jitter, bounded by a total time budget so a dead server costs
 * a known, small amount of time instead of blocking training.
 */

/** Backoff settings. Tests use small values so they run fast. */
export interface RetryPolicy {
  /** First delay between attempts. */
  initialDelayMs: number;
  /** Cap on one delay. */
  maxDelayMs: number;
  /** Give up once this much time has passed since the first attempt (the last attempt may start just before). */
  maxTotalMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { initialDelayMs: 200, maxDelayMs: 5_000, maxTotalMs: 30_000 };

/**
 * A failure worth retrying: the server may answer later (connection refused or reset, timeout, 5xx, 429).
 * `maybeApplied` says whether the request may have reached the server and taken effect (a reset or a timeout after
 * sending, a 5xx after a partial write) — such a request is only repeated when repeating it is harmless.
 */
export class TransientError extends Error {
  constructor(
    message: string,
    readonly maybeApplied = true,
  ) {
    super(message);
  }
}

/** Bounds on one call and its retries. */
export interface CallLimits {
  /** Absolute `Date.now()` time after which no new attempt starts. */
  deadline?: number;
  /** Aborts the request in flight and any wait between attempts (the tracker is closing). */
  signal?: AbortSignal;
}

/** Waits `ms`, or less when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    signal?.addEventListener('abort', finish, { once: true });
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      done();
    }
  });
}

/**
 * Runs `attempt` until it succeeds, throws a non-transient error, or the time budget (`policy.maxTotalMs`, further
 * limited by `limits`) is spent; then throws the last error. A non-`idempotent` attempt is repeated only after failures
 * that certainly did not reach the server (connection refused, 429).
 */
export async function withRetry<T>(attempt: () => Promise<T>, policy: RetryPolicy, limits: CallLimits = {}, idempotent = true): Promise<T> {
  const giveUpAt = Math.min(Date.now() + policy.maxTotalMs, limits.deadline ?? Infinity);
  let delay = policy.initialDelayMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof TransientError) || (error.maybeApplied && !idempotent)) throw error;
      const wait = Math.min(delay * (0.5 + Math.random() / 2), policy.maxDelayMs);
      if (Date.now() + wait >= giveUpAt || limits.signal?.aborted) throw error;
      await sleep(wait, limits.signal);
      if (limits.signal?.aborted) throw error;
      delay = Math.min(delay * 2, policy.maxDelayMs);
    }
  }
}

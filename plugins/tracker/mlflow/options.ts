import { type Static, Type } from 'shnet';
import { isServerUri } from './connection';
import { DEFAULT_RETRY, type RetryPolicy } from './retry';

/**
 * Options of the `mlflow` tracker. Each setting is taken from, in order: the recipe's tracker `args`, then MLflow's
 * environment variable (`MLFLOW_TRACKING_URI`, `MLFLOW_EXPERIMENT_NAME`), then the default. The run's own
 * `RunSpec.experiment` is used when neither `args.experiment` nor `MLFLOW_EXPERIMENT_NAME` is set.
 */
export const mlflowTrackerOptions = Type.Object(
  {
    trackingUri: Type.Optional(
      Type.String({
        description: 'Server (`http://host:5000`) or local store (`file:./mlruns`). Default: $MLFLOW_TRACKING_URI, else local only.',
      }),
    ),
    experiment: Type.Optional(Type.String({ description: 'Experiment name. Default: $MLFLOW_EXPERIMENT_NAME, else the run’s.' })),
    localStore: Type.String({
      default: './mlruns',
      description: 'MLflow FileStore written first (the write-ahead log when a server is set).',
    }),
    offline: Type.Boolean({ default: false, description: 'Ignore $MLFLOW_TRACKING_URI: log to the local store only.' }),
    flushTimeoutMs: Type.Integer({
      minimum: 0,
      default: 10_000,
      description: 'Longest time `flush`/`finish` wait for an unreachable server.',
    }),
    deliveryIntervalMs: Type.Integer({ minimum: 10, default: 2_000, description: 'Background delivery period.' }),
    requestTimeoutMs: Type.Integer({ minimum: 1, default: 30_000, description: 'Time limit of one HTTP request.' }),
    retry: Type.Object(
      {
        initialDelayMs: Type.Integer({ minimum: 1, default: DEFAULT_RETRY.initialDelayMs }),
        maxDelayMs: Type.Integer({ minimum: 1, default: DEFAULT_RETRY.maxDelayMs }),
        maxTotalMs: Type.Integer({ minimum: 0, default: DEFAULT_RETRY.maxTotalMs }),
      },
      { default: {}, description: 'Backoff for transient failures (connection refused, 5xx, 429).' },
    ),
  },
  { additionalProperties: false },
);

export type MlflowTrackerOptions = Static<typeof mlflowTrackerOptions>;

/** The options with environment variables applied: where runs go. */
export interface TrackerSettings {
  /** Local FileStore root (always written). */
  storeRoot: string;
  /** Server URI (may hold credentials: never show it unredacted), or undefined for local-only logging. */
  serverUri?: string;
  /** Experiment name forced by args or environment; otherwise the run's own. */
  experiment?: string;
  flushTimeoutMs: number;
  deliveryIntervalMs: number;
  requestTimeoutMs: number;
  retry: RetryPolicy;
}

/** Applies the precedence args → environment → defaults (see {@link mlflowTrackerOptions}). */
export function resolveSettings(args: Partial<MlflowTrackerOptions>, env: NodeJS.ProcessEnv = process.env): TrackerSettings {
  const uri = args.trackingUri || (args.offline ? undefined : env.MLFLOW_TRACKING_URI) || undefined;
  const local = uri && !isServerUri(uri) ? uri : undefined;
  return {
    storeRoot: local ?? args.localStore ?? './mlruns',
    serverUri: uri && isServerUri(uri) ? uri : undefined,
    experiment: args.experiment || env.MLFLOW_EXPERIMENT_NAME || undefined,
    flushTimeoutMs: args.flushTimeoutMs ?? 10_000,
    deliveryIntervalMs: args.deliveryIntervalMs ?? 2_000,
    requestTimeoutMs: args.requestTimeoutMs ?? 30_000,
    retry: { ...DEFAULT_RETRY, ...args.retry },
  };
}

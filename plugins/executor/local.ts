import {
  definePlugin,
  type ExecuteOptions,
  type Executor,
  inject,
  injectable,
  PLUGIN_ARGS,
  runTrialProcess,
  shnetVersion,
  type Static,
  type Trial,
  type TrialOutcome,
  Type,
  wasmThreadsShare,
} from 'shnet';

export const localExecutorOptions = Type.Object(
  {
    parallel: Type.Integer({ minimum: 1, default: 1, description: 'trials run at once, each its own `shnet run` process' }),
  },
  { additionalProperties: false },
);

export type LocalExecutorOptions = Static<typeof localExecutorOptions>;

/**
 * Runs trials on this machine, each as a child `shnet run` process (its own DI container, backend and memory by
 * construction), `parallel` at a time, in plan order. Parallel trials share the cores: each one's wasm backend gets
 * cores / parallel threads unless SHNET_WASM_THREADS is set.
 */
@injectable()
export class LocalExecutor implements Executor {
  readonly detachable = false;
  readonly description: string;

  constructor(@inject(PLUGIN_ARGS) private readonly options: LocalExecutorOptions) {
    this.description = options.parallel > 1 ? `local, ${options.parallel} in parallel` : 'local';
  }

  async execute(trials: readonly Trial[], onUpdate: (outcome: TrialOutcome) => void, options: ExecuteOptions = {}): Promise<TrialOutcome[]> {
    const outcomes = new Map<string, TrialOutcome>();
    let next = 0;
    let stopped = false;
    const lanes = Math.min(this.options.parallel, trials.length);
    const threads = wasmThreadsShare(lanes);
    const lane = async () => {
      while (next < trials.length && !stopped && !options.signal?.aborted) {
        const planned = trials[next++];
        const trial: Trial = { ...planned, env: { ...threads, ...planned.env } };
        const outcome = await runTrialProcess(trial, options.signal, () => onUpdate({ id: trial.id, status: 'running' }));
        outcomes.set(trial.id, outcome);
        onUpdate(outcome);
        if (outcome.status === 'failed' && options.failFast) stopped = true;
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    return trials.map((t) => outcomes.get(t.id) ?? { id: t.id, status: 'pending' });
  }
}

export const localExecutorSpec = definePlugin({
  kind: 'executor',
  name: 'local',
  doc: 'trials as child `shnet run` processes on this machine, one after another or `parallel` at a time',
  version: shnetVersion,
  options: localExecutorOptions,
  plugin: LocalExecutor,
});

import type { Container } from 'inversify';
import { describeBackend, selectBackend } from '../backend/select';
import { buildRun, type BuiltRun } from '../build/build-run';
import { buildNode } from '../build/builder';
import type { Dataset } from '../contracts/dataset';
import type { Segmenter } from '../contracts/image';
import type { BackendInfo, Logger, Rng, RunContext } from '../contracts/services';
import type { ExperimentTracker } from '../contracts/tracker';
import type { Optimizer, Schedule } from '../contracts/training';
import { bindDataInfo, createRootContainer, createRunContainer } from '../di/containers';
import { UsageError } from '../errors';
import type { PluginKind } from '../kinds';
import { formatProblem } from '../recipe/errors';
import { joinPath } from '../recipe/located';
import { NodeKey } from '../recipe/reserved-keys';
import { getPath, validateOptions } from '../recipe/validate';
import { createRegistry } from '../registry/builtin';
import type { PluginManifest } from '../registry/plugin-spec';
import { createRng } from '../services/rng';
import type { SegmenterStageParts } from '../train/segmenter-stage';
import type { PreparedRecipe } from './prepare';

/** Where a session's run lives and what it computes on. */
export interface SessionOptions {
  /** The run's seed: its random stream and every plugin's initial weights derive from it. */
  readonly seed: number;
  /** The run folder (plugins see it as `RunContext.runDir`). */
  readonly runDir: string;
  readonly logger: Logger;
  /**
   * `select` (default) initialises the recipe's `backend`, as a run does; `none` leaves the tfjs backend alone, for
   * sessions that build only plugins without tensors (a tracker, an executor, an evaluator of saved matrices).
   */
  readonly backend?: 'select' | 'none';
}

/**
 * The one assembly path from a prepared recipe to built plugins, used by every command that builds anything
 * (`run`, `eval`, `encode`, `import`, sweeps, ensembles): it selects the backend, makes the run's random stream and
 * its DI container — loading the services of every manifest the recipe brought, its `plugins:` included — and
 * builds the recipe's nodes in it.
 */
export class RunSession {
  private constructor(
    readonly prepared: PreparedRecipe,
    readonly rng: Rng,
    readonly backend: BackendInfo | null,
    readonly context: RunContext,
    private readonly container: Container,
  ) {}

  static async start(prepared: PreparedRecipe, options: SessionOptions): Promise<RunSession> {
    let backend: BackendInfo | null = null;
    if (options.backend !== 'none') {
      backend = await selectBackend(prepared.settings.backend);
      options.logger.info(describeBackend(backend));
    }
    const rng = createRng(options.seed);
    const context: RunContext = {
      runDir: options.runDir,
      recipe: prepared.resolved,
      recipeHash: prepared.hash,
      seed: options.seed,
      plugins: prepared.recipeManifests.map((m) => `${m.name}@${m.version ?? 'unversioned'}`),
    };
    const container = createRunContainer(createRootContainer(prepared.manifests, options.logger), { rng, backend, context });
    return new RunSession(prepared, rng, backend, context, container);
  }

  /** The session's backend; only sessions started without one (`backend: 'none'`) have none. */
  requireBackend(): BackendInfo {
    if (this.backend === null) throw new Error('this session was started without a backend');
    return this.backend;
  }

  /** Every plugin of a retrieval recipe, the data set first (see {@link buildRun}). */
  buildRun(): BuiltRun {
    return buildRun(this.prepared.registry, this.container, this.prepared.resolved);
  }

  /** The plugins of a `stage: segmenter` recipe: the data set first (its facts size the segmenter), then the rest. */
  buildSegmenterStage(): SegmenterStageParts {
    const dataset = this.buildNode<Dataset>('data', 'dataset');
    bindDataInfo(this.container, dataset.info);
    return {
      dataset,
      segmenter: this.buildNode<Segmenter>('segmenter', 'segmenter'),
      optimizer: this.buildNode<Optimizer>('optimizer', 'optimizer'),
      schedule: this.buildOptional<Schedule>('schedule', 'schedule'),
      tracker: this.buildOptional<ExperimentTracker>('tracker', 'tracker'),
    };
  }

  /** One node of the recipe, by key path (`tracker`, `executor`, `evaluator`). */
  buildNode<T>(path: string, kind: PluginKind): T {
    return buildNode<T>(this.prepared.registry, this.container, getPath(this.prepared.resolved, path), path, kind);
  }

  /** One optional node of the recipe, or null when the recipe switches it off or leaves it out. */
  buildOptional<T>(path: string, kind: PluginKind): T | null {
    return getPath(this.prepared.resolved, path) == null ? null : this.buildNode<T>(path, kind);
  }
}

/**
 * Builds one plugin node given outside any recipe (`{type, args}` from the command line: an evaluator for saved
 * similarity matrices, a sweep's executor), its args checked and defaulted by the plugin's schema like a recipe's.
 */
export function buildStandaloneNode<T>(manifests: readonly PluginManifest[], kind: PluginKind, node: Record<string, unknown>, path: string, logger: Logger): T {
  const registry = createRegistry(manifests);
  const type = String(node[NodeKey.type]);
  const args = structuredClone((node[NodeKey.args] ?? {}) as Record<string, unknown>);
  const problems = validateOptions(registry.get(kind, type), args, joinPath(path, NodeKey.args));
  if (problems.length > 0) throw new UsageError(`${kind} '${type}': invalid args:\n  ${problems.map(formatProblem).join('\n  ')}`);
  const context: RunContext = { runDir: '.', recipe: {}, recipeHash: '', seed: 0 };
  const container = createRunContainer(createRootContainer(manifests, logger), { rng: createRng(0), backend: null, context });
  return buildNode<T>(registry, container, { [NodeKey.type]: type, [NodeKey.args]: args }, path, kind);
}

import { Container } from 'inversify';
import type { BackendInfo, DataInfo, Logger, Rng, RunContext } from '../contracts/services';
import type { PluginManifest } from '../registry/plugin-spec';
import { BACKEND, DATA_INFO, LOGGER, RNG, RUN_CONTEXT } from '../tokens';

/** The process-wide container: services that plugin manifests bring (their `ContainerModule`s) and the logger. */
export function createRootContainer(manifests: readonly PluginManifest[], logger: Logger): Container {
  const root = new Container({ defaultScope: 'Singleton' });
  root.bind(LOGGER).toConstantValue(logger);
  for (const manifest of manifests) if (manifest.services) root.load(manifest.services);
  return root;
}

/** Services of one run (or one sweep trial): every run gets its own child container, so nothing leaks between runs. */
export interface RunServices {
  readonly rng: Rng;
  /** Null for containers that build no tensor-owning plugin (a tracker, an executor): `BACKEND` is then unbound. */
  readonly backend: BackendInfo | null;
  readonly context: RunContext;
}

export function createRunContainer(root: Container, services: RunServices): Container {
  const run = new Container({ parent: root, defaultScope: 'Singleton' });
  run.bind(RNG).toConstantValue(services.rng);
  if (services.backend !== null) run.bind(BACKEND).toConstantValue(services.backend);
  run.bind(RUN_CONTEXT).toConstantValue(services.context);
  return run;
}

/** Binds the data set's facts once the dataset node is built; model nodes built afterwards can inject them. */
export function bindDataInfo(run: Container, info: DataInfo): void {
  if (run.isCurrentBound(DATA_INFO)) run.unbind(DATA_INFO);
  run.bind(DATA_INFO).toConstantValue(info);
}

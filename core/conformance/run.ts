import { tf } from '../backend/tf';
import type { DataInfo } from '../contracts/services';
import type { PluginSpec } from '../registry/plugin-spec';
import type { PluginRegistry } from '../registry/registry';
import { createRng } from '../services/rng';
import { buildConformanceNode, conformanceNode, FixtureFolders, nodePathFor, type ConformanceNode } from './build';
import { DRIVERS } from './drivers';
import { moduleCheckNames, runModuleChecks } from './module-checks';
import { checkUnknownOption, checkWrongTypes } from './options';
import { CheckRecorder, type ConformanceReport } from './report';
import { CONFORMANCE_DATA_INFO } from './tiny';

export interface ConformanceOptions {
  /** Seed of the weights' init and of every input (default 1). */
  readonly seed?: number;
  /** Data set facts model plugins are built against (default {@link CONFORMANCE_DATA_INFO}). */
  readonly info?: DataInfo;
}

export const OPTION_CHECKS = {
  wrongTypes: 'options: a wrong type is refused at its key path',
  unknown: 'options: an unknown option is refused',
} as const;

export const BUILD_CHECK = 'build: through DI with tiny args';

/**
 * The checks {@link runConformance} reports for a plugin of `spec`'s kind, in order (what `describeConformance`
 * turns into one mocha test each).
 */
export function plannedChecks(spec: PluginSpec): string[] {
  const driver = DRIVERS[spec.kind];
  const own = driver === undefined ? [] : driver.type === 'model' ? moduleCheckNames(driver) : [...driver.checks];
  return [...Object.values(OPTION_CHECKS), ...(driver ? [BUILD_CHECK] : []), ...own];
}

/**
 * Runs the conformance suite on one registered plugin: its options schema, then (for kinds with a driver) a build
 * through DI with tiny args and every slot filled from `registry`, and the kind's contract on seeded tiny inputs.
 * Runs on the active tfjs backend; never throws for a failing plugin (failures are rows of the report).
 */
export async function runConformance(spec: PluginSpec, registry: PluginRegistry, options: ConformanceOptions = {}): Promise<ConformanceReport> {
  const seed = options.seed ?? 1;
  const info = options.info ?? CONFORMANCE_DATA_INFO;
  const plugin = `${spec.kind}/${spec.name}`;
  const recorder = new CheckRecorder(plannedChecks(spec));
  const folders = new FixtureFolders();
  const path = nodePathFor(spec.kind);
  const driver = DRIVERS[spec.kind];
  let missing = 'the build failed';
  try {
    let node: ConformanceNode | null = null;
    let nodeError: unknown = null;
    try {
      node = conformanceNode(spec, registry, folders, path);
    } catch (error) {
      nodeError = error;
    }
    const validArgs = node?.args ?? {};
    await recorder.check(OPTION_CHECKS.wrongTypes, () => checkWrongTypes(spec, registry, path, validArgs));
    await recorder.check(OPTION_CHECKS.unknown, () => checkUnknownOption(spec, registry, path, validArgs));
    if (!driver) return recorder.report(plugin, 'no driver for this kind');

    const scratch = folders.make();
    const build = <T>(): T => {
      if (node === null) throw nodeError;
      return buildConformanceNode<T>(registry, spec.kind, node, path, info, seed, scratch);
    };
    const tensorsBeforeBuild = tf.memory().numTensors;
    let built: unknown = null;
    await recorder.check(BUILD_CHECK, () => {
      built = build();
      return `args ${JSON.stringify(node!.args)}`;
    });
    if (built === null) return recorder.report(plugin, missing);
    missing = 'an earlier step threw';
    const context = { info, seed, rng: createRng(seed + 1), args: node!.args, scratch, rebuild: () => build() };
    if (driver.type === 'model') {
      const subject = driver.subject(built, context);
      await runModuleChecks(recorder, subject, tensorsBeforeBuild, seed);
    } else {
      await driver.run(built, recorder, context, tensorsBeforeBuild);
    }
    return recorder.report(plugin, missing);
  } catch (error) {
    return recorder.report(plugin, `${missing}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  } finally {
    folders.remove();
  }
}

import { Container } from 'inversify';
import { UsageError } from '../errors';
import type { PluginKind } from '../kinds';
import { isPlainObject, joinPath } from '../recipe/located';
import { getPath } from '../recipe/validate';
import { NodeKey } from '../recipe/reserved-keys';
import type { PluginRegistry } from '../registry/registry';
import { NODE_PATH, PLUGIN_ARGS, PLUGIN_PARTS } from '../tokens';

/**
 * Builds one validated recipe node, children first (depth-first), as MMEngine's `build_from_cfg` does.
 * The registry picks the class; a short-lived child container supplies the node's args, built children and path,
 * and the run's services through the class's explicit `@inject(TOKEN)` parameters.
 */
export function buildNode<T>(registry: PluginRegistry, run: Container, node: unknown, path: string, kind: PluginKind): T {
  if (!isPlainObject(node) || typeof node[NodeKey.type] !== 'string') {
    throw new UsageError(`${path}: expected a validated ${kind} node`);
  }
  const spec = registry.implementation(kind, node[NodeKey.type] as string);
  const parts: Record<string, unknown> = {};
  for (const [slotPath, slot] of Object.entries(spec.slots ?? {})) {
    const child = getPath(node, slotPath);
    parts[slotPath] = child === undefined || child === null ? null : buildNode(registry, run, child, joinPath(path, slotPath), slot.kind);
  }
  const scope = new Container({ parent: run });
  scope.bind(PLUGIN_ARGS).toConstantValue(node[NodeKey.args] ?? {});
  scope.bind(PLUGIN_PARTS).toConstantValue(parts);
  scope.bind(NODE_PATH).toConstantValue(path);
  scope.bind(spec.plugin).toSelf().inTransientScope();
  try {
    return scope.get(spec.plugin) as T;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const wrapped = error instanceof UsageError ? UsageError : Error;
    throw new wrapped(`building ${path} (${kind}/${spec.name}) failed: ${reason}`, { cause: error });
  }
}

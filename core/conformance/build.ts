/**
 * Builds a plugin for the conformance suite the way a run does: a validated recipe node (tiny args, schema defaults
 * filled in by the registry's validator, every slot filled), then `buildNode` in a run container made by
 * `core/di/containers.ts` with the run's services bound.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildNode } from '../build/builder';
import type { DataInfo, Logger } from '../contracts/services';
import { bindDataInfo, createRootContainer, createRunContainer } from '../di/containers';
import { tf } from '../backend/tf';
import type { PluginKind } from '../kinds';
import { formatProblem } from '../recipe/errors';
import { joinPath } from '../recipe/located';
import { NodeKey } from '../recipe/reserved-keys';
import { ROOT_SLOTS } from '../recipe/root';
import { validateOptions } from '../recipe/validate';
import type { PluginSpec, SlotSpec } from '../registry/plugin-spec';
import type { PluginRegistry } from '../registry/registry';
import { createRng } from '../services/rng';
import { CONFORMANCE_EMBED_DIM } from './tiny';

/** A recipe node `{type, args, …slots}`, validated. */
export type ConformanceNode = Record<string, unknown> & { type: string; args: Record<string, unknown> };

/** Temporary folders that fixtures wrote into; {@link FixtureFolders.remove} deletes them all. */
export class FixtureFolders {
  private readonly made: string[] = [];

  make(): string {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-conformance-'));
    this.made.push(dir);
    return dir;
  }

  remove(): void {
    for (const dir of this.made.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Where a node of `kind` sits in a recipe (`model.image` for an image encoder), or the kind's name for nested kinds. */
export function nodePathFor(kind: PluginKind): string {
  return Object.entries(ROOT_SLOTS).find(([, slot]) => slot.kind === kind)?.[0] ?? kind;
}

/**
 * The args the suite builds `spec` with: `embedDim: 8` when the schema has it, then the spec's fixture args, then
 * what its fixture's `setup` returns; validated (defaults filled) by the registry's validator.
 * @throws Error listing every schema problem, with key paths, when the result does not validate
 */
export function conformanceArgs(spec: PluginSpec, registry: PluginRegistry, folders: FixtureFolders, path: string): Record<string, unknown> {
  const properties = (spec.options as { properties?: Record<string, unknown> }).properties ?? {};
  const args: Record<string, unknown> = {
    ...('embedDim' in properties ? { embedDim: CONFORMANCE_EMBED_DIM } : {}),
    ...structuredClone(spec.conformance?.args ?? {}),
  };
  if (spec.conformance?.setup) Object.assign(args, spec.conformance.setup(folders.make()));
  const problems = validateOptions(registry.get(spec.kind, spec.name), args, joinPath(path, NodeKey.args));
  if (problems.length > 0) throw new Error(`the conformance args do not validate: ${problems.map(formatProblem).join('; ')}`);
  return args;
}

/**
 * The plugin that fills a slot: the slot's kind's plugin named like the slot's last key (`highlight.spatial` →
 * `spatial`), else the slot's `defaultNode`, else the first of that kind in name order.
 */
export function slotPlugin(slotPath: string, slot: SlotSpec, registry: PluginRegistry): PluginSpec {
  const own = slotPath.split('.').pop()!;
  if (registry.has(slot.kind, own)) return registry.implementation(slot.kind, own);
  if (slot.defaultNode && registry.has(slot.kind, slot.defaultNode.type)) return registry.implementation(slot.kind, slot.defaultNode.type);
  const first = registry.list(slot.kind)[0];
  if (!first) throw new Error(`slot '${slotPath}' needs a ${slot.kind} plugin, and none is registered`);
  return registry.implementation(slot.kind, first.spec.name);
}

/** The validated node of `spec` with every slot (optional ones too) filled by {@link slotPlugin}, recursively. */
export function conformanceNode(spec: PluginSpec, registry: PluginRegistry, folders: FixtureFolders, path: string): ConformanceNode {
  const node: ConformanceNode = { type: spec.name, args: conformanceArgs(spec, registry, folders, path) };
  for (const [slotPath, slot] of Object.entries(spec.slots ?? {})) {
    const child = conformanceNode(slotPlugin(slotPath, slot, registry), registry, folders, joinPath(path, slotPath));
    const keys = slotPath.split('.');
    let target: Record<string, unknown> = node;
    for (const key of keys.slice(0, -1)) target = (target[key] ??= {}) as Record<string, unknown>;
    target[keys[keys.length - 1]] = child;
  }
  return node;
}

/** Collects log lines instead of printing them (a report, not the terminal, says what happened). */
class CollectingLogger implements Logger {
  readonly lines: string[] = [];
  debug(message: string): void {
    this.lines.push(message);
  }
  info(message: string): void {
    this.lines.push(message);
  }
  warn(message: string): void {
    this.lines.push(message);
  }
  error(message: string): void {
    this.lines.push(message);
  }
}

/** Builds `node` through DI exactly as `buildRun` builds recipe nodes, in a fresh run container. */
export function buildConformanceNode<T>(
  registry: PluginRegistry,
  kind: PluginKind,
  node: ConformanceNode,
  path: string,
  info: DataInfo,
  seed: number,
  runDir: string,
): T {
  const root = createRootContainer(registry.loadedManifests(), new CollectingLogger());
  const run = createRunContainer(root, {
    rng: createRng(seed),
    backend: { name: tf.getBackend(), threads: 1 },
    context: { runDir, recipe: {}, recipeHash: '', seed },
  });
  bindDataInfo(run, info);
  return buildNode<T>(registry, run, node, path, kind);
}

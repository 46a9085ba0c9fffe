import { installedBackends } from '../backend/select';
import { ShnetError } from '../errors';
import type { PluginKind } from '../kinds';
import type { CheckedNode, CheckProblem, DataFacts } from '../registry/node-check';
import type { SlotSpec } from '../registry/plugin-spec';
import type { PluginRegistry } from '../registry/registry';
import { isPlainObject, joinPath } from './located';
import { NodeKey } from './reserved-keys';
import type { RecipeSettings } from './root';
import { getPath } from './validate';

/**
 * The checks across nodes that run after every node passed its own options schema (core/registry/node-check.ts),
 * so that a recipe which validates also runs: the data set's facts (from its plugin's `dataFacts`), every plugin's
 * own `check`, then the rules every run has, below. Plugin hooks are code: they run for plugins whose code is
 * loaded (the built-ins always; a recipe's packages only when their code may run, docs/plugins.md#security).
 *
 * Every problem carries the key path of the value to change; a plugin hook that throws a {@link ShnetError} is a
 * problem at its node.
 */
export function crossCheckRecipe(
  resolved: Record<string, unknown>,
  registry: PluginRegistry,
  rootSlots: Readonly<Record<string, SlotSpec>>,
  options: { readonly withoutTraining?: boolean } = {},
): Array<CheckProblem & { plugin?: string }> {
  const problems: Array<CheckProblem & { plugin?: string }> = [];
  const settings = resolved as unknown as RecipeSettings;
  const data = readDataFacts(resolved, registry, problems);

  const visit = (node: unknown, path: string, kind: PluginKind): void => {
    const type = isPlainObject(node) ? node[NodeKey.type] : undefined;
    if (!isPlainObject(node) || typeof type !== 'string' || !registry.has(kind, type)) return;
    const plugin = registry.get(kind, type);
    const name = `${kind}/${plugin.spec.name}`;
    const check = plugin.code?.check;
    if (check) {
      try {
        for (const p of check({ node: checkedNode(node, kind, registry), path, recipe: resolved, ...(data ? { data } : {}) })) {
          problems.push({ ...p, plugin: name });
        }
      } catch (error) {
        if (!(error instanceof ShnetError)) throw error;
        problems.push({ path, message: error.message, plugin: name });
      }
    }
    for (const [slotPath, slot] of Object.entries(plugin.spec.slots ?? {})) visit(getPath(node, slotPath), joinPath(path, slotPath), slot.kind);
  };
  for (const [slotPath, slot] of Object.entries(rootSlots)) visit(getPath(resolved, slotPath), slotPath, slot.kind);

  problems.push(...backendProblems(settings), ...jointWidthProblems(resolved));
  // Without training, the command reads the split it names, and opening it says when it is missing.
  if (data && !options.withoutTraining) problems.push(...splitProblems(settings, data));
  return problems;
}

/** The data set's facts, or undefined when its plugin cannot tell them yet (or its code is not loaded). */
function readDataFacts(resolved: Record<string, unknown>, registry: PluginRegistry, problems: CheckProblem[]): DataFacts | undefined {
  const node = resolved.data;
  const type = isPlainObject(node) ? node[NodeKey.type] : undefined;
  if (!isPlainObject(node) || typeof type !== 'string' || !registry.has('dataset', type)) return undefined;
  const reader = registry.get('dataset', type).code?.dataFacts;
  if (!reader) return undefined;
  try {
    return reader((node[NodeKey.args] ?? {}) as Record<string, unknown>);
  } catch (error) {
    if (!(error instanceof ShnetError)) throw error;
    problems.push({ path: 'data', message: error.message });
    return undefined;
  }
}

/** A validated node in the shape checks see: type, args, and its child slots, recursively. */
function checkedNode(node: Record<string, unknown>, kind: PluginKind, registry: PluginRegistry): CheckedNode {
  const type = String(node[NodeKey.type]);
  const slots: Record<string, CheckedNode | null> = {};
  for (const [slotPath, slot] of Object.entries(registry.has(kind, type) ? (registry.get(kind, type).spec.slots ?? {}) : {})) {
    const child = getPath(node, slotPath);
    slots[slotPath] = isPlainObject(child) ? checkedNode(child, slot.kind, registry) : null;
  }
  return { type, args: (node[NodeKey.args] ?? {}) as Record<string, unknown>, slots };
}

/** A backend named explicitly must be installed (`auto` takes the best one that is). */
function backendProblems(settings: RecipeSettings): CheckProblem[] {
  if (settings.backend === 'auto') return [];
  const installed = installedBackends();
  if ((installed as readonly string[]).includes(settings.backend)) return [];
  return [{ path: 'backend', message: `backend '${settings.backend}' is not installed here (installed: ${installed.join(', ')}; or 'auto')` }];
}

/**
 * Images and captions meet in one joint space, so the two encoders must embed into the same width. Compared
 * through the `embedDim` option, the name every encoder plugin gives its output width (the conformance suite
 * relies on it too).
 */
function jointWidthProblems(resolved: Record<string, unknown>): CheckProblem[] {
  const image = getPath(resolved, `model.image.${NodeKey.args}.embedDim`);
  const text = getPath(resolved, `model.text.${NodeKey.args}.embedDim`);
  if (typeof image !== 'number' || typeof text !== 'number' || image === text) return [];
  return [
    {
      path: `model.text.${NodeKey.args}.embedDim`,
      message: `captions would be embedded in ${text} dimensions and images in ${image} (model.image.args.embedDim): both encoders need the same joint width`,
    },
  ];
}

/** The splits the run reads exist, and a training batch fits in its split. */
function splitProblems(settings: RecipeSettings, data: DataFacts): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const known = Object.keys(data.splits);
  for (const [path, split] of [
    ['train.split', settings.train.split],
    ['train.validationSplit', settings.train.validationSplit],
    ['evaluate.split', settings.evaluate.split],
  ] as const) {
    if (!known.includes(split)) problems.push({ path, message: `the data set has no split '${split}' (splits: ${known.join(', ')})` });
  }
  const train = data.splits[settings.train.split];
  if (train) {
    // A retrieval step batches captions (five per image); a segmenter stage batches images.
    const [count, unit] = settings.stage === 'segmenter' ? [train.images, 'images'] : [5 * train.images, 'captions'];
    if (settings.train.batchSize > count) {
      problems.push({ path: 'train.batchSize', message: `${settings.train.batchSize} is more than the ${count} ${unit} of split '${settings.train.split}'` });
    }
  }
  return problems;
}

import type { ValidateFunction } from 'ajv';
import type { PluginKind } from '../kinds';
import { createOptionsAjv, type PluginRegistry, type RegisteredPlugin } from '../registry/registry';
import type { SlotSpec } from '../registry/plugin-spec';
import { schemaProblems } from '../registry/schema-errors';
import { closestNames } from '../registry/suggest';
import { sortProblems, type RecipeProblem } from './errors';
import { isPlainObject, joinPath, locate, type LocatedRecipe } from './located';
import { crossCheckRecipe } from './cross-checks';
import { mergeRecipes } from './merge';
import { NODE_KEYS, NodeKey } from './reserved-keys';
import { RootSettings, type Stage, rootSlotsFor, slotGroups } from './root';

/** The outcome of validating a whole recipe: every problem, and the recipe with schema defaults filled in. */
export interface ValidationResult {
  readonly problems: RecipeProblem[];
  /** A copy of the recipe with every node's defaults filled in (meaningful when there are no problems). */
  readonly resolved: Record<string, unknown>;
}

const settingsValidator = createOptionsAjv().compile(RootSettings);

/**
 * Validates the whole recipe against the root layout and every plugin's options schema, collecting all problems
 * (never stopping at the first), each with its key path, `file:line` and plugin name.
 */
/** What the recipe is validated for. */
export interface ValidateOptions {
  /**
   * The recipe's model is built without training it: a trained run loaded to evaluate or encode a split the command
   * names (perhaps of another data set, `--data`), or a model receiving imported weights. Its training batch and the
   * splits it would train and test on do not apply; a split the command reads is checked when it is opened.
   */
  readonly withoutTraining?: boolean;
}

export function validateRecipe(recipe: LocatedRecipe, registry: PluginRegistry, options: ValidateOptions = {}): ValidationResult {
  const resolved = structuredClone(recipe.data);
  const problems: RecipeProblem[] = [];
  const problem = (path: string, message: string, plugin?: string): void => {
    problems.push({ path, message, plugin, location: locate(recipe.locations, path) });
  };

  // Reported once, with this message: the schema's own complaint about the same value ("must be integer") is dropped.
  const badNumbers = new Set<string>();
  for (const { path, value } of unusableNumbers(resolved)) {
    problem(path, Number.isFinite(value) ? `${value} is too large to be exact (at most 2^53 − 1 in size)` : `must be a finite number, got ${value}`);
    badNumbers.add(path);
  }
  const numberProblems = new Set(problems);

  const settingKeys = Object.keys(RootSettings.properties);
  const settings = Object.fromEntries(Object.entries(resolved).filter(([key]) => settingKeys.includes(key)));
  if (!settingsValidator(settings)) reportSchemaErrors(settingsValidator, '', problem);
  Object.assign(resolved, settings);

  const validateNode = (node: unknown, path: string, kind: PluginKind): void => {
    if (!isPlainObject(node)) {
      problem(path, `expected a ${kind} node {type, args}, got ${describe(node)}`);
      return;
    }
    const type = node[NodeKey.type];
    if (type === undefined) {
      const names = registry.list(kind).map((p) => p.spec.name);
      problem(path, `missing 'type' for this ${kind} (one of: ${names.join(', ') || 'none registered'})`);
      return;
    }
    if (typeof type !== 'string' || !registry.has(kind, type)) {
      problem(joinPath(path, NodeKey.type), registry.unknownNameMessage(kind, String(type)).replace(/\n/g, '\n    '));
      return;
    }
    const plugin = registry.get(kind, type);
    const pluginName = `${kind}/${type}`;
    const args = node[NodeKey.args] ?? {};
    if (!isPlainObject(args)) {
      problem(joinPath(path, NodeKey.args), `args must be a mapping, got ${describe(args)}`, pluginName);
    } else {
      for (const p of validateOptions(plugin, args, joinPath(path, NodeKey.args))) problem(p.path, p.message, p.plugin);
      node[NodeKey.args] = args;
    }
    checkSlots(node, path, plugin.spec.slots ?? {}, NODE_KEYS, pluginName);
  };

  const checkSlots = (
    container: Record<string, unknown>,
    path: string,
    slots: Readonly<Record<string, SlotSpec>>,
    ownKeys: readonly string[],
    pluginName?: string,
  ): void => {
    for (const [slotPath, slot] of Object.entries(slots)) {
      let value = getPath(container, slotPath);
      const fullPath = joinPath(path, slotPath);
      // The default node is the base of whatever the recipe says about the slot: `--set tracker.args.offline=true`
      // refines the default tracker, as it would refine one written in the recipe.
      if (slot.defaultNode && (value === undefined || (isPlainObject(value) && !Object.hasOwn(value, NodeKey.type)))) {
        value = mergeRecipes(
          { data: structuredClone(slot.defaultNode) as Record<string, unknown>, locations: new Map() },
          { data: value ?? {}, locations: new Map() },
        ).data;
        setPath(container, slotPath, value);
      }
      if (value === undefined && !slot.optional) problem(fullPath, `missing ${slot.kind} node (${slot.doc})`, pluginName);
      else if (value === null && !slot.optional) problem(fullPath, `this ${slot.kind} cannot be switched off (null)`, pluginName);
      else if (value !== undefined && value !== null) validateNode(value, fullPath, slot.kind);
    }
    const groups = slotGroups(slots);
    const checkKeys = (object: Record<string, unknown>, prefix: string, allowed: readonly string[]): void => {
      for (const key of Object.keys(object)) {
        const relative = prefix ? `${prefix}.${key}` : key;
        if (!allowed.includes(key)) {
          const hint = closestNames(key, allowed);
          problem(
            joinPath(path, relative),
            `unknown key${hint.length ? `; did you mean '${hint[0]}'?` : ''} (allowed here: ${allowed.join(', ')})`,
            pluginName,
          );
        } else if (groups.has(relative)) {
          const group = object[key];
          if (!isPlainObject(group)) problem(joinPath(path, relative), `expected a mapping of ${groups.get(relative)!.join(', ')}`, pluginName);
          else checkKeys(group, relative, groups.get(relative)!);
        }
      }
    };
    const topLevel = [...new Set(Object.keys(slots).map((s) => s.split('.')[0]))];
    checkKeys(container, '', [...ownKeys, ...topLevel]);
  };

  const rootSlots = rootSlotsFor(settings.stage as Stage | undefined);
  checkSlots(resolved, '', rootSlots, settingKeys);
  // Rules across nodes assume every node is well-formed, so they run only on a recipe that is so far.
  if (problems.length === 0) for (const p of crossCheckRecipe(resolved, registry, rootSlots, options)) problem(p.path, p.message, p.plugin);
  return { problems: sortProblems(problems.filter((p) => numberProblems.has(p) || !badNumbers.has(p.path))), resolved };
}

/**
 * Checks one plugin's `args` against its options schema, filling defaults into `args`. Each problem carries the key
 * path of the offending option under `argsPath` (`model.image.highlight.spatial.args.lambda`) and the plugin name;
 * no location (the caller knows where `args` came from).
 */
export function validateOptions(plugin: RegisteredPlugin, args: Record<string, unknown>, argsPath: string): RecipeProblem[] {
  const problems: RecipeProblem[] = [];
  if (!plugin.validate(args)) {
    reportSchemaErrors(
      plugin.validate,
      argsPath,
      (path, message, name) => problems.push({ path, message, plugin: name }),
      `${plugin.spec.kind}/${plugin.spec.name}`,
    );
  }
  return problems;
}

/** Reads a dotted path inside nested mappings, following their own keys only (never JavaScript's prototype). */
export function getPath(root: Record<string, unknown>, path: string): unknown {
  let value: unknown = root;
  for (const key of path.split('.')) {
    if (!isPlainObject(value) || !Object.hasOwn(value, key)) return undefined;
    value = value[key];
  }
  return value;
}

function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let target = root;
  for (const key of keys.slice(0, -1)) {
    if (!Object.hasOwn(target, key) || !isPlainObject(target[key])) target[key] = {};
    target = target[key] as Record<string, unknown>;
  }
  target[keys[keys.length - 1]] = value;
}

/**
 * Numbers no recipe value can mean: NaN and ±Infinity (YAML's `.nan`, `.inf`, or `1e400`), and magnitudes past
 * 2^53 − 1, where a width or a count is no longer exact. Found wherever they are, `vars` included.
 */
function unusableNumbers(tree: unknown, path = ''): Array<{ path: string; value: number }> {
  if (typeof tree === 'number') return Number.isFinite(tree) && Math.abs(tree) <= Number.MAX_SAFE_INTEGER ? [] : [{ path, value: tree }];
  if (Array.isArray(tree)) return tree.flatMap((item, i) => unusableNumbers(item, joinPath(path, i)));
  if (isPlainObject(tree)) return Object.entries(tree).flatMap(([key, value]) => unusableNumbers(value, joinPath(path, key)));
  return [];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? `'${value}'` : typeof value;
}

/** Reports a failed validator's problems, their key paths under `base`. */
function reportSchemaErrors(
  validate: ValidateFunction,
  base: string,
  problem: (path: string, message: string, plugin?: string) => void,
  plugin?: string,
): void {
  for (const p of schemaProblems(validate, base)) problem(p.path, p.message, plugin);
}

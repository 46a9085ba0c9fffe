import { RecipeError, type RecipeProblem } from './errors';
import { isPlainObject, joinPath, locate, type LocatedRecipe } from './located';

const WHOLE = /^\$\{([\w.-]+)\}$/;
const EMBEDDED = /\$\{([\w.-]+)\}/g;

/**
 * How much `${…}` references may produce in all, counted as characters of strings built by splicing plus values
 * copied by whole references. A real recipe's references produce a few thousand; references that repeat each
 * other (`b: ${a}${a}`, `c: ${b}${b}`, …) double at every level and would exhaust memory after forty.
 */
export const INTERPOLATION_BUDGET = 1_000_000;

/**
 * Resolves `${key.path}` references after merging and overrides (as Hydra's interpolation does), so one value —
 * typically under `vars:` — feeds several nodes and a single `--set vars.embedDim=512` changes all of them.
 * A value that is exactly one reference takes the referenced value with its type; references inside a longer
 * string are spliced in as text. Unknown references, cycles and expansions past {@link INTERPOLATION_BUDGET} are
 * located errors.
 *
 * Each key path is resolved once, in place, and reused by every reference to it, so the work is linear in what the
 * references produce. A reference follows the recipe's own keys only (never JavaScript's: `${vars.constructor}`
 * does not exist).
 */
export function interpolateRecipe(recipe: LocatedRecipe): void {
  const problems: RecipeProblem[] = [];
  const state = new Map<string, 'resolving' | 'done'>();
  /** Key paths being resolved, outermost first: a reference back into this chain is a cycle. */
  const chain: string[] = [];
  const reportedCycles = new Set<string>();
  const FAILED = Symbol('unresolved');
  let produced = 0;

  const spend = (amount: number, path: string): void => {
    produced += amount;
    if (produced > INTERPOLATION_BUDGET) {
      problems.push({
        path,
        message: `\${…} references expand to more than ${INTERPOLATION_BUDGET.toLocaleString('en')} characters (references that repeat each other multiply at every level)`,
        location: locate(recipe.locations, path),
      });
      throw new RecipeError(problems);
    }
  };

  /** Resolves `container[key]` (at `path`) in place, once. */
  const resolveAt = (container: Record<string, unknown> | unknown[], key: string | number, path: string): unknown => {
    const slot = container as Record<string | number, unknown>;
    if (state.get(path) === 'done') return slot[key];
    state.set(path, 'resolving');
    chain.push(path);
    const value = slot[key];
    if (typeof value === 'string') slot[key] = resolveString(value, path);
    else if (Array.isArray(value)) value.forEach((_, i) => resolveAt(value, i, joinPath(path, i)));
    else if (isPlainObject(value)) for (const child of Object.keys(value)) resolveAt(value, child, joinPath(path, child));
    chain.pop();
    state.set(path, 'done');
    return slot[key];
  };

  const lookUp = (reference: string, path: string): unknown => {
    const dot = reference.lastIndexOf('.');
    const parent = dot < 0 ? recipe.data : ownPath(reference.slice(0, dot));
    const key = reference.slice(dot + 1);
    if (!isPlainObject(parent) || !Object.hasOwn(parent, key)) {
      problems.push({ path, message: `\${${reference}} refers to a key that does not exist`, location: locate(recipe.locations, path) });
      return FAILED;
    }
    if (state.get(reference) === 'resolving') {
      const cycle = chain.slice(chain.indexOf(reference));
      const id = [...cycle].sort().join(' ');
      if (!reportedCycles.has(id)) {
        reportedCycles.add(id);
        problems.push({
          path,
          message: `\${${reference}} is part of a reference cycle (${[...cycle, reference].join(' -> ')})`,
          location: locate(recipe.locations, path),
        });
      }
      return FAILED;
    }
    const value = resolveAt(parent, key, reference);
    if (typeof value === 'object' && value !== null) {
      spend(JSON.stringify(value).length, path);
      return structuredClone(value);
    }
    return value;
  };

  const resolveString = (text: string, path: string): unknown => {
    const whole = WHOLE.exec(text);
    if (whole) {
      const value = lookUp(whole[1], path);
      return value === FAILED ? text : value;
    }
    if (!text.includes('${')) return text;
    const spliced = text.replace(EMBEDDED, (match, reference: string) => {
      const value = lookUp(reference, path);
      if (value === FAILED) return match;
      const piece = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
      spend(piece.length, path);
      return piece;
    });
    return spliced;
  };

  /**
   * The value at a dotted path, following own keys of mappings only (undefined when a step is missing); a step that
   * is itself a reference (`vars.a: ${vars.b}`, then `${vars.a.x}`) is resolved first.
   */
  const ownPath = (path: string): unknown => {
    let value: unknown = recipe.data;
    let at = '';
    for (const key of path.split('.')) {
      if (!isPlainObject(value) || !Object.hasOwn(value, key)) return undefined;
      at = joinPath(at, key);
      if (typeof value[key] === 'string' && (value[key] as string).includes('${') && state.get(at) === undefined) resolveAt(value, key, at);
      value = value[key];
    }
    return value;
  };

  for (const key of Object.keys(recipe.data)) resolveAt(recipe.data, key, key);
  if (problems.length > 0) throw new RecipeError(problems);
}

import { RecipeError, type RecipeProblem } from './errors';
import { isPlainObject, joinPath, locate, type LocatedRecipe } from './located';
import { getPath } from './validate';

const WHOLE = /^\$\{([\w.-]+)\}$/;
const EMBEDDED = /\$\{([\w.-]+)\}/g;

/**
 * Resolves `${key.path}` references after merging and overrides (as Hydra's interpolation does), so one value —
 * typically under `vars:` — feeds several nodes and a single `--set vars.embedDim=512` changes all of them.
 * A value that is exactly one reference takes the referenced value with its type; references inside a longer
 * string are spliced in as text. Unknown references and cycles are located errors.
 */
export function interpolateRecipe(recipe: LocatedRecipe): void {
  const problems: RecipeProblem[] = [];
  const resolving = new Set<string>();
  const reportedCycles = new Set<string>();
  const FAILED = Symbol('unresolved');

  const resolveValue = (value: unknown, path: string): unknown => {
    if (typeof value === 'string') return resolveString(value, path);
    if (Array.isArray(value)) return value.map((item, i) => resolveValue(item, joinPath(path, i)));
    if (isPlainObject(value)) {
      for (const [key, child] of Object.entries(value)) value[key] = resolveValue(child, joinPath(path, key));
    }
    return value;
  };

  const lookUp = (reference: string, path: string): unknown => {
    const target = getPath(recipe.data, reference);
    if (target === undefined) {
      problems.push({ path, message: `\${${reference}} refers to a key that does not exist`, location: locate(recipe.locations, path) });
      return FAILED;
    }
    if (resolving.has(reference)) {
      const cycle = [...resolving].slice([...resolving].indexOf(reference));
      const key = [...cycle].sort().join(' ');
      if (!reportedCycles.has(key)) {
        reportedCycles.add(key);
        problems.push({
          path,
          message: `\${${reference}} is part of a reference cycle (${[...cycle, reference].join(' -> ')})`,
          location: locate(recipe.locations, path),
        });
      }
      return FAILED;
    }
    resolving.add(reference);
    const resolved = resolveValue(structuredClone(target), reference);
    resolving.delete(reference);
    return resolved;
  };

  const resolveString = (text: string, path: string): unknown => {
    const whole = WHOLE.exec(text);
    if (whole) {
      const value = lookUp(whole[1], path);
      return value === FAILED ? text : value;
    }
    return text.replace(EMBEDDED, (match, reference: string) => {
      const value = lookUp(reference, path);
      if (value === FAILED) return match;
      return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
    });
  };

  resolveValue(recipe.data, '');
  if (problems.length > 0) throw new RecipeError(problems);
}

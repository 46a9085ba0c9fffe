import { RecipeError, type RecipeProblem, type SourceLocation } from './errors';
import { isPlainObject } from './located';
import { parseYamlValue, type ParsedRecipe } from './parse-yaml';

/** Pseudo-file name under which command-line overrides are located in error messages (`--set:2` = the second one). */
export const OVERRIDE_FILE = '--set';

/**
 * Turns `--set key.path=value` overrides into a recipe overlay. Values are YAML, so they are typed:
 * `512` is a number, `true` a boolean, `[1, 2]` a list, `null` switches a slot off, `'512'` stays a string,
 * `!secret …` marks a secret. Values follow a recipe file's rules (no other tags, no `__proto__` key), and no
 * key of the path may be `__proto__`.
 */
export function overridesToOverlay(overrides: readonly string[]): ParsedRecipe {
  const data: Record<string, unknown> = {};
  const locations = new Map<string, SourceLocation>();
  const secrets: string[] = [];
  const problems: RecipeProblem[] = [];
  overrides.forEach((override, index) => {
    const location = { file: OVERRIDE_FILE, line: index + 1 };
    const eq = override.indexOf('=');
    const path = eq > 0 ? override.slice(0, eq).trim() : '';
    if (eq <= 0 || !/^[\w-]+(\.[\w-]+)*$/.test(path)) {
      problems.push({ path, location, message: `expected KEY.PATH=VALUE, got '${override}'` });
      return;
    }
    const keys = path.split('.');
    if (keys.includes('__proto__')) {
      problems.push({ path, location, message: "'__proto__' cannot be a key (it names JavaScript's object prototype)" });
      return;
    }
    let value: unknown;
    try {
      const parsed = parseYamlValue(override.slice(eq + 1), location);
      value = parsed.value;
      secrets.push(...parsed.secrets);
    } catch (error) {
      if (!(error instanceof RecipeError)) throw error;
      problems.push(...error.problems.map((p) => ({ ...p, path: p.path ? `${path}.${p.path}` : path })));
      return;
    }
    let target = data;
    keys.slice(0, -1).forEach((key, depth) => {
      if (!isPlainObject(target[key])) target[key] = {};
      target = target[key] as Record<string, unknown>;
      locations.set(keys.slice(0, depth + 1).join('.'), location);
    });
    target[keys[keys.length - 1]] = value;
    locations.set(path, location);
    markLeaves(value, path, location, locations);
  });
  if (problems.length > 0) throw new RecipeError(problems);
  return { data, locations, secrets };
}

function markLeaves(value: unknown, path: string, location: SourceLocation, locations: Map<string, SourceLocation>): void {
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}.${key}`;
    locations.set(childPath, location);
    markLeaves(child, childPath, location, locations);
  }
}

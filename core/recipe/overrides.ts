import { parse as parseYamlValue } from 'yaml';
import { RecipeError, type RecipeProblem, type SourceLocation } from './errors';
import type { LocatedRecipe } from './located';

/** Pseudo-file name under which command-line overrides are located in error messages (`--set:2` = the second one). */
export const OVERRIDE_FILE = '--set';

/**
 * Turns `--set key.path=value` overrides into a recipe overlay. Values are YAML, so they are typed:
 * `512` is a number, `true` a boolean, `[1, 2]` a list, `null` switches a slot off, `'512'` stays a string.
 */
export function overridesToOverlay(overrides: readonly string[]): LocatedRecipe {
  const data: Record<string, unknown> = {};
  const locations = new Map<string, SourceLocation>();
  const problems: RecipeProblem[] = [];
  overrides.forEach((override, index) => {
    const location = { file: OVERRIDE_FILE, line: index + 1 };
    const eq = override.indexOf('=');
    const path = eq > 0 ? override.slice(0, eq).trim() : '';
    if (eq <= 0 || !/^[\w-]+(\.[\w-]+)*$/.test(path)) {
      problems.push({ path, location, message: `expected KEY.PATH=VALUE, got '${override}'` });
      return;
    }
    let value: unknown;
    try {
      value = parseYamlValue(override.slice(eq + 1));
    } catch (error) {
      problems.push({ path, location, message: `value is not valid YAML: ${yamlErrorText(error as Error)}` });
      return;
    }
    const keys = path.split('.');
    let target = data;
    keys.slice(0, -1).forEach((key, depth) => {
      const existing = target[key];
      if (typeof existing !== 'object' || existing === null || Array.isArray(existing)) target[key] = {};
      target = target[key] as Record<string, unknown>;
      locations.set(keys.slice(0, depth + 1).join('.'), location);
    });
    target[keys[keys.length - 1]] = value;
    locations.set(path, location);
    markLeaves(value, path, location, locations);
  });
  if (problems.length > 0) throw new RecipeError(problems);
  return { data, locations };
}

/**
 * The whole of a YAML parser error: its sentence, then the value with the parser's caret under the fault, indented
 * to sit under the problem line (the parser's own message ends its first line with ':' and puts them below).
 */
function yamlErrorText(error: Error): string {
  const [sentence, ...frame] = error.message.split('\n').filter((line) => line.trim() !== '');
  return [sentence.replace(/:$/, ''), ...frame.map((line) => `      ${line}`)].join('\n');
}

function markLeaves(value: unknown, path: string, location: SourceLocation, locations: Map<string, SourceLocation>): void {
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value)) {
    const childPath = `${path}.${key}`;
    locations.set(childPath, location);
    markLeaves(child, childPath, location, locations);
  }
}

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RecipeError, type RecipeProblem, type SourceLocation } from '../recipe/errors';
import { displayPath } from '../recipe/load';
import { isPlainObject, locate } from '../recipe/located';
import { parseRecipeYaml } from '../recipe/parse-yaml';
import { RecipeKey } from '../recipe/reserved-keys';

/** How one `random` key is drawn. Bounds are inclusive for `int`, half-open `[a, b)` for the continuous ones. */
export type Distribution =
  | { readonly uniform: readonly [number, number] }
  | { readonly loguniform: readonly [number, number] }
  | { readonly int: readonly [number, number] }
  | { readonly choice: readonly unknown[] };

/**
 * A sweep: which recipe keys vary and how. Trials are the grid's points × `samples` random draws × `seeds`,
 * in that order (seeds innermost), cut to `budget`.
 */
export interface SweepSpec {
  /** Dotted recipe key → the values it takes, in the order written. */
  readonly grid: ReadonlyArray<readonly [string, readonly unknown[]]>;
  readonly random: ReadonlyArray<readonly [string, Distribution]>;
  /** Random draws per grid point (1 when there are random keys and no `samples`). */
  readonly samples: number;
  /** Seed of the random draws (not of the runs: that is `seeds`). */
  readonly seed: number;
  /** Run seeds (`seed:` of the recipe) crossed with every other point; empty = the recipe's own seed. */
  readonly seeds: readonly number[];
  /** Most trials to run (the first ones in plan order). */
  readonly budget?: number;
}

/** A sweep as read from disk: the spec, the recipe it varies, and where each sweep key was written. */
export interface SweepFile {
  /** The file given to `shnet sweep` (a recipe with a `sweep:` section, or a sweep file). */
  readonly file: string;
  /** The recipe the trials vary (absolute path). */
  readonly recipe: string;
  readonly spec: SweepSpec;
  /** Location of each sweep key (`sweep.grid.optimizer.args.lr`) for error messages. */
  readonly locations: ReadonlyMap<string, SourceLocation>;
  /** True when the sweep is a section of the recipe itself (the section is removed before trials validate). */
  readonly inline: boolean;
}

const KEY_PATH = /^[\w-]+(\.[\w-]+)*$/;
const SWEEP_FIELDS = ['grid', 'random', 'samples', 'seed', 'seeds', 'budget'];
const DISTRIBUTIONS = ['uniform', 'loguniform', 'int', 'choice'];

/**
 * Reads a sweep: either `{recipe: PATH, sweep: {...}}` (the recipe path relative to the sweep file) or a recipe
 * with a `sweep:` section. Every malformed entry is reported at once, located.
 */
export function readSweepFile(file: string): SweepFile {
  const path = resolve(file);
  const shown = displayPath(path);
  if (!existsSync(path)) throw new RecipeError([{ path: '', message: `sweep file not found: ${shown}` }]);
  const parsed = parseRecipeYaml(readFileSync(path, 'utf8'), shown);
  const problems: RecipeProblem[] = [];
  const at = (key: string) => locate(parsed.locations, key) ?? { file: shown, line: 1 };
  const section = parsed.data[RecipeKey.sweep];
  if (!isPlainObject(section)) {
    throw new RecipeError([
      { path: RecipeKey.sweep, message: 'expected a `sweep:` mapping (grid, random, samples, seed, seeds, budget)', location: at(RecipeKey.sweep) },
    ]);
  }
  const standalone = typeof parsed.data.recipe === 'string';
  if (standalone) {
    for (const key of Object.keys(parsed.data).filter((k) => k !== 'recipe' && k !== RecipeKey.sweep)) {
      problems.push({ path: key, message: 'a sweep file holds only `recipe:` and `sweep:`', location: at(key) });
    }
  }
  const spec = parseSpec(section, at, problems);
  if (problems.length > 0) throw new RecipeError(problems);
  const recipe = standalone ? resolve(dirname(path), parsed.data.recipe as string) : path;
  return { file: path, recipe, spec, locations: parsed.locations, inline: !standalone };
}

function parseSpec(section: Record<string, unknown>, at: (key: string) => SourceLocation, problems: RecipeProblem[]): SweepSpec {
  const fail = (path: string, message: string) => problems.push({ path, message, location: at(path) });
  for (const key of Object.keys(section).filter((k) => !SWEEP_FIELDS.includes(k))) {
    fail(`sweep.${key}`, `unknown sweep setting (expected one of: ${SWEEP_FIELDS.join(', ')})`);
  }
  const keyed = (field: string): Array<[string, unknown]> => {
    const value = section[field];
    if (value === undefined || value === null) return [];
    if (!isPlainObject(value)) {
      fail(`sweep.${field}`, 'expected a mapping of dotted recipe keys');
      return [];
    }
    return Object.entries(value).filter(([key]) => KEY_PATH.test(key) || void fail(`sweep.${field}.${key}`, `'${key}' is not a dotted recipe key`));
  };

  const grid: Array<[string, unknown[]]> = [];
  for (const [key, values] of keyed('grid')) {
    if (!Array.isArray(values) || values.length === 0) fail(`sweep.grid.${key}`, 'expected a non-empty list of values');
    else grid.push([key, values]);
  }
  const random: Array<[string, Distribution]> = [];
  for (const [key, value] of keyed('random')) {
    const distribution = parseDistribution(value);
    if (typeof distribution === 'string') fail(`sweep.random.${key}`, distribution);
    else random.push([key, distribution]);
  }
  for (const [key] of random) if (grid.some(([g]) => g === key)) fail(`sweep.random.${key}`, 'this key is also in sweep.grid');

  const integer = (field: string, min: number): number | undefined => {
    const value = section[field];
    if (value === undefined || value === null) return undefined;
    if (!Number.isInteger(value) || (value as number) < min) {
      fail(`sweep.${field}`, `expected an integer ≥ ${min}`);
      return undefined;
    }
    return value as number;
  };
  const samples = integer('samples', 1);
  if (samples !== undefined && random.length === 0) fail('sweep.samples', 'samples needs sweep.random keys to draw');
  const seed = integer('seed', 0) ?? 0;
  const budget = integer('budget', 1);
  const seedsValue = section.seeds;
  let seeds: number[] = [];
  if (seedsValue !== undefined && seedsValue !== null) {
    if (!Array.isArray(seedsValue) || seedsValue.length === 0 || !seedsValue.every((s) => Number.isInteger(s) && s >= 0)) {
      fail('sweep.seeds', 'expected a non-empty list of integer seeds ≥ 0');
    } else if (new Set(seedsValue).size !== seedsValue.length) {
      fail('sweep.seeds', 'seeds repeat');
    } else seeds = seedsValue as number[];
  }
  if (grid.length === 0 && random.length === 0 && seeds.length === 0) fail('sweep', 'nothing to vary: give grid, random or seeds');
  return { grid, random, samples: samples ?? 1, seed, seeds, ...(budget !== undefined ? { budget } : {}) };
}

/** A distribution, or the reason it is malformed. */
function parseDistribution(value: unknown): Distribution | string {
  const expected = `expected one of {uniform: [a, b]}, {loguniform: [a, b]}, {int: [a, b]}, {choice: [...]}`;
  if (!isPlainObject(value) || Object.keys(value).length !== 1 || !DISTRIBUTIONS.includes(Object.keys(value)[0])) return expected;
  const [name, args] = Object.entries(value)[0];
  if (name === 'choice') return Array.isArray(args) && args.length > 0 ? { choice: args } : 'choice needs a non-empty list';
  if (!Array.isArray(args) || args.length !== 2 || !args.every((a) => typeof a === 'number' && Number.isFinite(a))) return `${name} needs [low, high] numbers`;
  const [low, high] = args as [number, number];
  if (!(low < high) && !(name === 'int' && low === high)) return `${name} needs low < high, got [${low}, ${high}]`;
  if (name === 'loguniform' && low <= 0) return 'loguniform needs low > 0';
  if (name === 'int' && !(Number.isInteger(low) && Number.isInteger(high))) return 'int needs integer bounds';
  return { [name]: [low, high] } as unknown as Distribution;
}

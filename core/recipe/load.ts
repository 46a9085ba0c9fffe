import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { RecipeError, type SourceLocation } from './errors';
import { isPlainObject, type LocatedRecipe } from './located';
import { interpolateRecipe } from './interpolate';
import { mergeRecipes } from './merge';
import { overridesToOverlay } from './overrides';
import { parseRecipeYaml } from './parse-yaml';
import { NodeKey, RecipeKey } from './reserved-keys';
import { rememberSecrets } from './secrets';

/**
 * Sizes past which a recipe is refused rather than read: recipes are small text files, and a recipe that names
 * `/dev/zero` or extends the same bases over and over must fail at once instead of filling memory.
 */
export const RECIPE_LIMITS = { fileBytes: 4 * 1024 * 1024, files: 256 } as const;

/** One entry of a recipe's `plugins:` list, with where it was declared. */
export interface PluginEntry {
  readonly spec: string;
  readonly location: SourceLocation;
}

/** A loaded recipe: merged data with locations, the files it came from, and the plugin manifests it asks for. */
export interface LoadedRecipe extends LocatedRecipe {
  /** Every recipe file read, the root first, as given paths resolved to absolute. */
  readonly files: readonly string[];
  /** Plugin manifests to load: absolute paths for relative entries, package names as given, with the declaring file. */
  readonly plugins: ReadonlyArray<PluginEntry>;
  /** Values marked `!secret` in any file of the chain or an override (see `core/recipe/secrets.ts`). */
  readonly secrets: readonly string[];
}

/**
 * Loads a recipe: reads the YAML, follows `extends` (paths relative to the extending file, several allowed, merged
 * in order, cycles reported with the chain), merges the child on top, then applies command-line overrides.
 * `plugins` lists of every file in the chain are united.
 */
export function loadRecipe(file: string, overrides: readonly string[] = []): LoadedRecipe {
  const files: string[] = [];
  const plugins: PluginEntry[] = [];
  const secrets: string[] = [];
  let merged = loadWithBases(resolve(file), [], files, plugins, secrets);
  if (overrides.length > 0) {
    const overlay = overridesToOverlay(overrides);
    secrets.push(...overlay.secrets);
    merged = mergeRecipes(merged, overlay);
  }
  stripMergeKeys(merged.data);
  interpolateRecipe(merged);
  rememberSecrets(secrets);
  return { ...merged, files, plugins, secrets: [...new Set(secrets)] };
}

/**
 * Loads `file` and, depth first, the bases it extends. `declaredAt` is where the extending file names it (absent for
 * the recipe given on the command line): problems with the file itself are reported there.
 */
function loadWithBases(
  file: string,
  chain: readonly string[],
  files: string[],
  plugins: PluginEntry[],
  secrets: string[],
  declaredAt?: SourceLocation,
): LocatedRecipe {
  const shown = displayPath(file);
  const refuse = (message: string): never => {
    throw new RecipeError([{ path: declaredAt ? RecipeKey.extends : '', message, location: declaredAt }]);
  };
  if (chain.includes(file)) refuse(`extends cycle: ${[...chain.slice(chain.indexOf(file)), file].map(displayPath).join(' -> ')}`);
  if (files.length >= RECIPE_LIMITS.files) refuse(`more than ${RECIPE_LIMITS.files} recipe files read through extends (${shown} would be the next)`);
  files.push(file);
  const own = parseRecipeYaml(readRecipeText(file, shown, refuse), shown);
  secrets.push(...own.secrets);
  const { extends: bases, plugins: ownPlugins, sweep: _sweep, ...rest } = own.data;
  const baseList = bases === undefined || bases === null ? [] : Array.isArray(bases) ? bases : [bases];
  const problems = baseList
    .map((base, index) => ({ base, index }))
    .filter(({ base }) => typeof base !== 'string' || base.trim() === '')
    .map(({ index }) => ({
      path: `${RecipeKey.extends}.${index}`,
      message: 'extends entries must be file paths',
      location: own.locations.get(`${RecipeKey.extends}.${index}`) ?? own.locations.get(RecipeKey.extends),
    }));
  if (ownPlugins !== undefined && (!Array.isArray(ownPlugins) || ownPlugins.some((p) => typeof p !== 'string' || p.trim() === ''))) {
    problems.push({ path: RecipeKey.plugins, message: 'plugins must be a list of paths or package names', location: own.locations.get(RecipeKey.plugins) });
  }
  if (problems.length > 0) throw new RecipeError(problems);

  let merged: LocatedRecipe = { data: {}, locations: new Map() };
  (baseList as string[]).forEach((base, index) => {
    const at = own.locations.get(`${RecipeKey.extends}.${index}`) ?? own.locations.get(RecipeKey.extends) ?? { file: shown, line: 1 };
    merged = mergeRecipes(merged, loadWithBases(resolve(dirname(file), base), [...chain, file], files, plugins, secrets, at));
  });
  ((ownPlugins as string[] | undefined) ?? []).forEach((spec, index) => {
    const entry = spec.startsWith('.') || isAbsolute(spec) ? resolve(dirname(file), spec) : spec;
    const location = own.locations.get(`${RecipeKey.plugins}.${index}`) ?? { file: shown, line: 1 };
    if (!plugins.some((p) => p.spec === entry)) plugins.push({ spec: entry, location });
  });
  const ownLocations = new Map([...own.locations].filter(([key]) => !isReservedTopLevel(key)));
  return mergeRecipes(merged, { data: rest, locations: ownLocations });
}

function isReservedTopLevel(path: string): boolean {
  return (Object.values(RecipeKey) as string[]).includes(path.split('.')[0]);
}

/**
 * The text of a recipe file. Only a regular file is read (a directory, FIFO or device such as `/dev/zero` would
 * fail oddly or never end), and only up to {@link RECIPE_LIMITS}.fileBytes.
 */
function readRecipeText(file: string, shown: string, refuse: (message: string) => never): string {
  let stats;
  try {
    stats = statSync(file);
  } catch {
    return refuse(`recipe file not found: ${shown}`);
  }
  if (!stats.isFile()) refuse(`${shown} is not a recipe file (it is ${kindOf(stats)})`);
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > RECIPE_LIMITS.fileBytes)
      refuse(`${shown} is ${size.toLocaleString('en')} bytes; a recipe may be at most ${RECIPE_LIMITS.fileBytes.toLocaleString('en')}`);
    const buffer = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function kindOf(stats: import('node:fs').Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Removes leftover `merge` keys from nodes that had no base to merge onto. */
function stripMergeKeys(value: unknown): void {
  if (Array.isArray(value)) value.forEach(stripMergeKeys);
  else if (isPlainObject(value)) {
    if (Object.hasOwn(value, NodeKey.type)) delete value[NodeKey.merge];
    Object.values(value).forEach(stripMergeKeys);
  }
}

/** Paths are shown relative to the working directory when inside it, so messages stay short and clickable. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

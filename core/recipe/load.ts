import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { RecipeError, type SourceLocation } from './errors';
import { isPlainObject, type LocatedRecipe } from './located';
import { interpolateRecipe } from './interpolate';
import { mergeRecipes } from './merge';
import { overridesToOverlay } from './overrides';
import { parseRecipeYaml } from './parse-yaml';
import { NodeKey, RecipeKey } from './reserved-keys';

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
}

/**
 * Loads a recipe: reads the YAML, follows `extends` (paths relative to the extending file, several allowed, merged
 * in order, cycles reported with the chain), merges the child on top, then applies command-line overrides.
 * `plugins` lists of every file in the chain are united.
 */
export function loadRecipe(file: string, overrides: readonly string[] = []): LoadedRecipe {
  const files: string[] = [];
  const plugins: PluginEntry[] = [];
  let merged = loadWithBases(resolve(file), [], files, plugins);
  if (overrides.length > 0) merged = mergeRecipes(merged, overridesToOverlay(overrides));
  stripMergeKeys(merged.data);
  interpolateRecipe(merged);
  return { ...merged, files, plugins };
}

function loadWithBases(file: string, chain: readonly string[], files: string[], plugins: PluginEntry[]): LocatedRecipe {
  const shown = displayPath(file);
  if (chain.includes(file)) {
    const cycle = [...chain.slice(chain.indexOf(file)), file].map(displayPath).join(' -> ');
    throw new RecipeError([{ path: RecipeKey.extends, message: `extends cycle: ${cycle}`, location: { file: displayPath(chain[chain.length - 1]), line: 1 } }]);
  }
  if (!existsSync(file)) {
    const parent = chain[chain.length - 1];
    throw new RecipeError([
      {
        path: parent ? RecipeKey.extends : '',
        message: `recipe file not found: ${shown}`,
        location: parent ? { file: displayPath(parent), line: 1 } : undefined,
      },
    ]);
  }
  files.push(file);
  const own = parseRecipeYaml(readFileSync(file, 'utf8'), shown);
  const { extends: bases, plugins: ownPlugins, sweep: _sweep, ...rest } = own.data;
  const baseList = bases === undefined ? [] : Array.isArray(bases) ? bases : [bases];
  const problems = baseList
    .map((base, index) => ({ base, index }))
    .filter(({ base }) => typeof base !== 'string')
    .map(({ index }) => ({
      path: `${RecipeKey.extends}.${index}`,
      message: 'extends entries must be file paths',
      location: own.locations.get(`${RecipeKey.extends}.${index}`) ?? own.locations.get(RecipeKey.extends),
    }));
  if (ownPlugins !== undefined && (!Array.isArray(ownPlugins) || ownPlugins.some((p) => typeof p !== 'string'))) {
    problems.push({ path: RecipeKey.plugins, message: 'plugins must be a list of paths or package names', location: own.locations.get(RecipeKey.plugins) });
  }
  if (problems.length > 0) throw new RecipeError(problems);

  let merged: LocatedRecipe = { data: {}, locations: new Map() };
  for (const base of baseList as string[]) {
    merged = mergeRecipes(merged, loadWithBases(resolve(dirname(file), base), [...chain, file], files, plugins));
  }
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

/** Removes leftover `merge` keys from nodes that had no base to merge onto. */
function stripMergeKeys(value: unknown): void {
  if (Array.isArray(value)) value.forEach(stripMergeKeys);
  else if (isPlainObject(value)) {
    if (NodeKey.type in value) delete value[NodeKey.merge];
    Object.values(value).forEach(stripMergeKeys);
  }
}

/** Paths are shown relative to the working directory when inside it, so messages stay short and clickable. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

import { RecipeError, sortProblems, type RecipeProblem } from '../recipe/errors';
import { loadRecipe, type LoadedRecipe } from '../recipe/load';
import { recipeHash } from '../recipe/resolve';
import { validateRecipe } from '../recipe/validate';
import { registerRecipePlugins } from './recipe-plugins';
import type { PluginManifest } from '../registry/plugin-spec';
import { createRegistry } from '../registry/builtin';
import type { PluginRegistry } from '../registry/registry';

/** A recipe that passed validation: the registry it was checked against, the resolved tree and its hash. */
export interface PreparedRecipe {
  readonly loaded: LoadedRecipe;
  readonly registry: PluginRegistry;
  /** Extends, overrides and schema defaults applied (no seed written back yet). */
  readonly resolved: Record<string, unknown>;
  readonly hash: string;
}

/** How a recipe is prepared. */
export interface PrepareOptions {
  /**
   * Load the code of the recipe's own plugin packages (its `plugins:` list), as building a run needs; refused
   * unless the user allowed it (`--allow-plugins`). Without it (the default) their manifests are read as data
   * (`shnet-plugin.json`) and no plugin code runs: what validation does.
   */
  readonly loadPluginCode?: boolean;
}

/**
 * Loads a recipe and everything it names, then validates the whole of it. Problems from the recipe's `plugins:`
 * list and from validation are reported together in one {@link RecipeError}.
 */
export function prepareRecipe(file: string, overrides: readonly string[], base: readonly PluginManifest[], options: PrepareOptions = {}): PreparedRecipe {
  const loaded = loadRecipe(file, overrides);
  const registry = createRegistry(base);
  const { problems, resolved } = validateLoaded(loaded, registry, options);
  if (problems.length > 0) throw new RecipeError(problems);
  return { loaded, registry, resolved, hash: recipeHash(resolved, loaded.secrets) };
}

/**
 * Registers the plugin packages a loaded recipe lists under `plugins:` (as data, or as code with
 * `loadPluginCode`) and validates the whole recipe against the registry; failures to register a package are
 * problems located at their `plugins.N` entry, reported with the rest.
 */
export function validateLoaded(
  loaded: LoadedRecipe,
  registry: PluginRegistry,
  options: PrepareOptions = {},
): { problems: RecipeProblem[]; resolved: Record<string, unknown> } {
  const problems = registerRecipePlugins(loaded.plugins, registry, options.loadPluginCode ? 'code' : 'data');
  const { problems: invalid, resolved } = validateRecipe(loaded, registry);
  return { problems: sortProblems([...problems, ...invalid]), resolved };
}

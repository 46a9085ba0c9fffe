import { RecipeError, sortProblems, type RecipeProblem } from '../recipe/errors';
import { loadRecipe, type LoadedRecipe } from '../recipe/load';
import { recipeHash } from '../recipe/resolve';
import type { RecipeSettings } from '../recipe/root';
import { validateRecipe } from '../recipe/validate';
import { createRegistry } from '../registry/builtin';
import { registerRecipePlugins } from './recipe-plugins';
import type { PluginManifest } from '../registry/plugin-spec';
import type { PluginRegistry } from '../registry/registry';

/**
 * A recipe that passed validation: the registry it was checked against (the given manifests and the recipe's own
 * `plugins:`), the resolved tree, its typed settings and its hash. Everything that builds from a recipe starts here.
 */
export interface PreparedRecipe {
  readonly loaded: LoadedRecipe;
  readonly registry: PluginRegistry;
  /** Extends, overrides and schema defaults applied (no seed written back yet). */
  readonly resolved: Record<string, unknown>;
  /** The recipe's settings (`train`, `evaluate`, `seed`, `backend`, …), typed: the same values as in `resolved`. */
  readonly settings: RecipeSettings;
  readonly hash: string;
  /** The recipe's `plugins:` entries as loaded (absolute paths, or package names as written). */
  readonly plugins: readonly string[];
  /** Every manifest the registry holds, the recipe's included: what the run's DI container loads services from. */
  readonly manifests: readonly PluginManifest[];
  /** The manifests the recipe's `plugins:` brought, in list order (the run records them as `name@version`). */
  readonly recipeManifests: readonly PluginManifest[];
}

/** How a recipe is prepared. */
export interface PrepareOptions {
  /**
   * Load the code of the recipe's own plugin packages (its `plugins:` list), as building a run needs; refused
   * unless the user allowed it (`--allow-plugins`). Without it (the default) their manifests are read as data
   * (`shnet-plugin.json`) and no plugin code runs: what validation does.
   */
  readonly loadPluginCode?: boolean;
  /** The recipe's model is built without training it (evaluate, encode, import): see ValidateOptions.withoutTraining. */
  readonly withoutTraining?: boolean;
}

/**
 * Loads a recipe and everything it names, then validates the whole of it. Problems from the recipe's `plugins:`
 * list and from validation are reported together in one {@link RecipeError}.
 */
export function prepareRecipe(file: string, overrides: readonly string[], base: readonly PluginManifest[], options: PrepareOptions = {}): PreparedRecipe {
  return preparedFrom(loadRecipe(file, overrides), base, options);
}

/** {@link prepareRecipe} for a recipe already loaded (a sweep loads each trial's itself). */
export function preparedFrom(loaded: LoadedRecipe, base: readonly PluginManifest[], options: PrepareOptions = {}): PreparedRecipe {
  const registry = createRegistry(base);
  const { problems, resolved } = validateLoaded(loaded, registry, options);
  if (problems.length > 0) throw new RecipeError(problems);
  return {
    loaded,
    registry,
    resolved,
    // Validation checked the settings against RootSettings and filled their defaults, so this view is exact.
    settings: resolved as unknown as RecipeSettings,
    hash: recipeHash(resolved, loaded.secrets),
    plugins: loaded.plugins.map((p) => p.spec),
    manifests: registry.loadedManifests(),
    // Loaded as code only (building); a recipe prepared for validation brought descriptions, not manifests.
    recipeManifests: registry.loadedManifests().slice(base.length),
  };
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
  const { problems: invalid, resolved } = validateRecipe(loaded, registry, { withoutTraining: options.withoutTraining });
  return { problems: sortProblems([...problems, ...invalid]), resolved };
}

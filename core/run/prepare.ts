import { ShnetError } from '../errors';
import { RecipeError, sortProblems, type RecipeProblem } from '../recipe/errors';
import { loadRecipe, type LoadedRecipe } from '../recipe/load';
import { recipeHash } from '../recipe/resolve';
import type { RecipeSettings } from '../recipe/root';
import { validateRecipe } from '../recipe/validate';
import { createRegistry } from '../registry/builtin';
import { loadManifestModule } from '../registry/load-manifest';
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

/**
 * Loads a recipe and everything it names, then validates the whole of it. Problems from the recipe's `plugins:`
 * list and from validation are reported together in one {@link RecipeError}.
 */
export function prepareRecipe(file: string, overrides: readonly string[], base: readonly PluginManifest[]): PreparedRecipe {
  return preparedFrom(loadRecipe(file, overrides), base);
}

/** {@link prepareRecipe} for a recipe already loaded (a sweep loads each trial's itself). */
export function preparedFrom(loaded: LoadedRecipe, base: readonly PluginManifest[]): PreparedRecipe {
  const registry = createRegistry(base);
  const { problems, resolved } = validateLoaded(loaded, registry);
  if (problems.length > 0) throw new RecipeError(problems);
  return {
    loaded,
    registry,
    resolved,
    // Validation checked the settings against RootSettings and filled their defaults, so this view is exact.
    settings: resolved as unknown as RecipeSettings,
    hash: recipeHash(resolved),
    plugins: loaded.plugins.map((p) => p.spec),
    manifests: registry.loadedManifests(),
    recipeManifests: registry.loadedManifests().slice(base.length),
  };
}

/**
 * Registers the manifests a loaded recipe lists under `plugins:` and validates the whole recipe against the
 * registry; failures to load a manifest are problems located at their `plugins.N` entry, reported with the rest.
 */
export function validateLoaded(loaded: LoadedRecipe, registry: PluginRegistry): { problems: RecipeProblem[]; resolved: Record<string, unknown> } {
  const problems: RecipeProblem[] = [];
  loaded.plugins.forEach((entry, index) => {
    try {
      registry.addManifest(loadManifestModule(entry.spec, entry.location.file));
    } catch (error) {
      if (!(error instanceof ShnetError)) throw error;
      problems.push({ path: `plugins.${index}`, message: error.message, location: entry.location });
    }
  });
  const { problems: invalid, resolved } = validateRecipe(loaded, registry);
  return { problems: sortProblems([...problems, ...invalid]), resolved };
}

import { ShnetError } from '../errors';
import { RecipeError, sortProblems, type RecipeProblem } from '../recipe/errors';
import { loadRecipe, type LoadedRecipe } from '../recipe/load';
import { recipeHash } from '../recipe/resolve';
import { validateRecipe } from '../recipe/validate';
import { loadManifestModule } from '../registry/load-manifest';
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

/**
 * Loads a recipe and everything it names, then validates the whole of it. Problems from the recipe's `plugins:`
 * list and from validation are reported together in one {@link RecipeError}.
 */
export function prepareRecipe(file: string, overrides: readonly string[], base: readonly PluginManifest[]): PreparedRecipe {
  const loaded = loadRecipe(file, overrides);
  const registry = createRegistry(base);
  const { problems, resolved } = validateLoaded(loaded, registry);
  if (problems.length > 0) throw new RecipeError(problems);
  return { loaded, registry, resolved, hash: recipeHash(resolved) };
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

import { ShnetError } from '../errors';
import type { RecipeProblem } from '../recipe/errors';
import { displayPath, type PluginEntry } from '../recipe/load';
import { describedManifestPath, describeManifest, readDescribedManifest, sameDescription } from '../registry/described-manifest';
import { loadManifestModule, resolveManifestModule } from '../registry/load-manifest';
import { recipePluginsAllowed } from '../registry/plugin-trust';
import type { PluginRegistry } from '../registry/registry';

/**
 * How a recipe's plugin packages are registered: `data` reads each package's `shnet-plugin.json` and runs none of
 * its code (validating, listing, dry runs, planning a sweep); `code` loads the packages' code, which building a run
 * needs, and is refused unless the user allowed it (`--allow-plugins`, core/registry/plugin-trust.ts).
 */
export type RecipePluginMode = 'data' | 'code';

/**
 * Registers the plugin packages a recipe lists (`plugins:`) in `registry` and returns the problems, each located
 * at the entry that names the package (`recipe.yaml:3: plugins.0: …`). In `code` mode a package that also ships a
 * `shnet-plugin.json` must agree with it, so that what validation checked is what runs.
 */
export function registerRecipePlugins(entries: readonly PluginEntry[], registry: PluginRegistry, mode: RecipePluginMode): RecipeProblem[] {
  const problems: RecipeProblem[] = [];
  entries.forEach((entry, index) => {
    const problem = (message: string) => problems.push({ path: `plugins.${index}`, message, location: entry.location });
    const name = displayPath(entry.spec);
    try {
      const module = resolveManifestModule(entry.spec, entry.location.file);
      const dataFile = displayPath(describedManifestPath(module));
      const described = readDescribedManifest(describedManifestPath(module));
      if (mode === 'data') {
        if (described) registry.addManifest(described, { code: false });
        else {
          problem(
            `${name} has no ${dataFile}: validation reads a plugin package's manifest as data and never runs ` +
              `its code; its author writes that file with \`shnet manifest ${name}\` (docs/plugins.md#security)`,
          );
        }
        return;
      }
      if (!recipePluginsAllowed()) {
        if (described) registry.addManifest(described, { code: false }); // the rest of the recipe is still checked
        problem(`${name} is plugin code named by the recipe; shnet runs it only when you allow it: add --allow-plugins ` + '(docs/plugins.md#security)');
        return;
      }
      const manifest = loadManifestModule(entry.spec, entry.location.file);
      if (described && !sameDescription(described, describeManifest(manifest))) {
        problem(`${dataFile} does not describe the code of ${name}: write it again with \`shnet manifest ${name}\``);
        return;
      }
      registry.addManifest(manifest, { code: true });
    } catch (error) {
      if (!(error instanceof ShnetError)) throw error;
      problem(error.message);
    }
  });
  return problems;
}

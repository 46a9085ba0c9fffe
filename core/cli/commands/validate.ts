import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { PluginManifest } from '../../registry/plugin-spec';
import { redactRecipe } from '../../recipe/secrets';
import { prepareRecipe } from '../../run/prepare';
import { withOverrides } from '../options';

/** `shnet validate RECIPE`: load, merge and validate; print the resolved recipe with `--print`. */
export function registerValidate(program: Command, manifests: readonly PluginManifest[]): void {
  withOverrides(
    program
      .command('validate')
      .argument('<recipe>', 'recipe file (YAML)')
      .description('check a recipe against every plugin schema and report all problems at once (exit 2 if any)')
      .option('--print', 'print the resolved recipe (extends, overrides and defaults applied; secrets shown as ***)'),
  ).action((recipe: string, options: { set: string[]; print?: boolean }) => {
    const prepared = prepareRecipe(recipe, options.set, manifests);
    if (options.print) process.stdout.write(stringify(redactRecipe(prepared.resolved, prepared.loaded.secrets)));
    else process.stdout.write(`${recipe}: valid (sha256 ${prepared.hash.slice(0, 12)})\n`);
  });
}

import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { isPluginKind, PLUGIN_KINDS } from '../../kinds';
import type { PluginManifest } from '../../registry/plugin-spec';
import { closestNames } from '../../registry/suggest';
import { loadRecipe } from '../../recipe/load';
import { createRegistry } from '../../registry/builtin';
import { RecipeError } from '../../recipe/errors';
import { registerRecipePlugins } from '../../run/recipe-plugins';
import { describeOptions } from '../describe-options';

/** `shnet plugins [KIND]`: every registered plugin with its one-line doc, version, slots and options. */
export function registerPlugins(program: Command, manifests: readonly PluginManifest[]): void {
  program
    .command('plugins')
    .argument('[kind]', `only this kind (${PLUGIN_KINDS.join(', ')})`)
    .description('list registered plugins: name, one-line doc, options')
    .option('--recipe <file>', "also list the plugins of the packages in this recipe's 'plugins:' (read from their shnet-plugin.json)")
    .option('--json', 'machine-readable output')
    .action((kind: string | undefined, options: { recipe?: string; json?: boolean }) => {
      if (kind !== undefined && !isPluginKind(kind)) {
        const hint = closestNames(kind, PLUGIN_KINDS);
        throw new UsageError(`unknown plugin kind '${kind}'${hint.length ? `; did you mean '${hint[0]}'?` : ''} (kinds: ${PLUGIN_KINDS.join(', ')})`);
      }
      const registry = createRegistry(manifests);
      if (options.recipe) {
        // As data: listing a recipe's plugins never runs their code (docs/plugins.md#security).
        const problems = registerRecipePlugins(loadRecipe(options.recipe).plugins, registry, 'data');
        if (problems.length > 0) throw new RecipeError(problems);
      }
      const plugins = registry.list(kind);
      if (options.json) {
        const rows = plugins.map(({ spec, source }) => ({
          kind: spec.kind,
          name: spec.name,
          doc: spec.doc,
          version: spec.version,
          source,
          options: spec.options,
          slots: spec.slots ?? {},
        }));
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const lines: string[] = [];
      for (const k of kind ? [kind] : PLUGIN_KINDS) {
        const ofKind = plugins.filter((p) => p.spec.kind === k);
        lines.push(`${k}${ofKind.length === 0 ? ' (none registered)' : ''}`);
        for (const { spec, source } of ofKind) {
          lines.push(`  ${spec.name}  ${spec.doc}  [v${spec.version}${source === 'shnet-builtin' ? '' : `, from ${source}`}]`);
          for (const [slot, s] of Object.entries(spec.slots ?? {})) lines.push(`      slot ${slot}: ${s.kind}${s.optional ? ' (optional)' : ''} — ${s.doc}`);
          for (const line of describeOptions(spec.options)) lines.push(`      ${line}`);
        }
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

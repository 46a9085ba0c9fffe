import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BACKEND_REQUESTS, selectBackend, type BackendRequest } from '../../backend/select';
import { formatReports, runConformance, type ConformanceReport } from '../../conformance';
import { RunFailure, UsageError } from '../../errors';
import { isPluginKind, PLUGIN_KINDS } from '../../kinds';
import { loadManifestModule } from '../../registry/load-manifest';
import type { PluginManifest } from '../../registry/plugin-spec';
import { createRegistry } from '../../registry/builtin';

/**
 * `shnet test-plugin PACKAGE|PATH`: loads a plugin package's manifest on top of the built-in one (as a recipe's
 * `plugins:` list does) and runs the conformance suite on each of its plugins. Exit 0 when every check passes,
 * 1 when one fails, 2 when the package cannot be loaded or the filters match nothing.
 */
export function registerTestPlugin(program: Command, manifests: readonly PluginManifest[]): void {
  program
    .command('test-plugin')
    .argument('<package>', 'plugin package name, or a path to its manifest module (.ts, .js, or a folder)')
    .description("run the conformance suite on a plugin package's plugins and print a table of checks")
    .option('--kind <kind>', `only plugins of this kind (${PLUGIN_KINDS.join(', ')})`)
    .option('--name <name>', 'only the plugin with this name')
    .option('--backend <backend>', 'tfjs backend: cpu, wasm, tensorflow, tensorflow-gpu or auto', 'cpu')
    .action(async (target: string, options: { kind?: string; name?: string; backend: string }) => {
      if (options.kind !== undefined && !isPluginKind(options.kind)) {
        throw new UsageError(`unknown plugin kind '${options.kind}' (kinds: ${PLUGIN_KINDS.join(', ')})`);
      }
      if (!(BACKEND_REQUESTS as readonly string[]).includes(options.backend)) {
        throw new UsageError(`unknown backend '${options.backend}' (${BACKEND_REQUESTS.join(', ')})`);
      }
      const spec = existsSync(target) ? resolve(target) : target;
      const manifest = loadManifestModule(spec, resolve('command-line'));
      const registry = createRegistry([...manifests, manifest]);
      const chosen = manifest.plugins.filter((p) => (options.kind ?? p.kind) === p.kind && (options.name ?? p.name) === p.name);
      if (chosen.length === 0) {
        const filter = [options.kind && `kind '${options.kind}'`, options.name && `name '${options.name}'`].filter(Boolean).join(' and ');
        const has = manifest.plugins.map((p) => `${p.kind}/${p.name}`).join(', ') || 'none';
        throw new UsageError(`${manifest.name} has no plugin${filter ? ` with ${filter}` : 's'} (it has: ${has})`);
      }
      await selectBackend(options.backend as BackendRequest);
      const reports: ConformanceReport[] = [];
      for (const plugin of chosen) reports.push(await runConformance(registry.implementation(plugin.kind, plugin.name), registry));
      process.stdout.write(`${formatReports(reports)}\n`);
      const failed = reports.filter((r) => !r.passed).map((r) => r.plugin);
      if (failed.length > 0) throw new RunFailure(`conformance failed for ${failed.join(', ')}`);
    });
}

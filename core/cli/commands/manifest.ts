import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { RunFailure } from '../../errors';
import { describedManifestPath, describeManifest, readDescribedManifest, sameDescription, writeDescribedManifest } from '../../registry/described-manifest';
import { loadManifestModule, resolveManifestModule } from '../../registry/load-manifest';

/**
 * `shnet manifest PACKAGE`: writes a plugin package's `shnet-plugin.json` (its manifest as data, which validation
 * reads instead of running the package) from the package's code, beside the module that exports the manifest;
 * `--check` only compares, and exits 1 when the file is missing or out of date. The package named on the command
 * line is loaded because the user named it (docs/plugins.md#security).
 */
export function registerManifest(program: Command): void {
  program
    .command('manifest')
    .argument('<package>', 'plugin package name, or a path to its manifest module (.ts, .js, or a folder)')
    .description("write a plugin package's shnet-plugin.json (its manifest as data, read by validation) from its code")
    .option('--check', 'do not write: exit 1 when shnet-plugin.json is missing or does not match the code')
    .action((target: string, options: { check?: boolean }) => {
      const spec = existsSync(target) ? resolve(target) : target;
      const declaredIn = resolve('command-line');
      const module = resolveManifestModule(spec, declaredIn);
      const manifest = loadManifestModule(spec, declaredIn);
      const path = describedManifestPath(module);
      if (options.check) {
        const written = readDescribedManifest(path);
        if (!written) throw new RunFailure(`${path} is missing: write it with \`shnet manifest ${target}\``);
        if (!sameDescription(written, describeManifest(manifest)))
          throw new RunFailure(`${path} does not match the code: write it again with \`shnet manifest ${target}\``);
        process.stdout.write(`${path}: matches ${manifest.name}'s code (${manifest.plugins.length} plugins)\n`);
        return;
      }
      writeDescribedManifest(module, manifest);
      process.stdout.write(`${path}: ${manifest.plugins.map((p) => `${p.kind}/${p.name}`).join(', ') || 'no plugins'}\n`);
    });
}

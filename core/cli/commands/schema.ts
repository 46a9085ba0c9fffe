import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { PluginManifest } from '../../registry/plugin-spec';
import { recipeJsonSchema } from '../../recipe/json-schema';
import { createRegistry } from '../../registry/builtin';

/** `shnet schema`: the JSON Schema of recipe files, for editor completion and checking. */
export function registerSchema(program: Command, manifests: readonly PluginManifest[]): void {
  program
    .command('schema')
    .description('print the JSON Schema of recipes (every registered plugin and its options)')
    .option('--out <file>', 'write to a file instead of stdout')
    .action((options: { out?: string }) => {
      const text = `${JSON.stringify(recipeJsonSchema(createRegistry(manifests)), null, 2)}\n`;
      if (options.out) writeFileSync(options.out, text);
      else process.stdout.write(text);
    });
}

import { existsSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors';
import type { PluginManifest } from './plugin-spec';

/**
 * Loads a plugin manifest from a file (`.ts`, `.js`, or a folder with an index) or an npm package name.
 * The module must export `manifest` (or a default export) of type {@link PluginManifest}.
 *
 * Plugin code imports shnet's public API as `require('shnet')` / `import … from 'shnet'`; like VS Code's
 * `require('vscode')`, that name always resolves to the running shnet, wherever the plugin lives, so a plugin
 * shares this process's tfjs, inversify and registry types.
 */
export function loadManifestModule(spec: string, declaredIn: string): PluginManifest {
  aliasShnetForPlugins();
  const resolved = resolveManifestModule(spec, declaredIn);
  if (resolved.endsWith('.ts')) registerTypeScript();
  let exported: Record<string, unknown>;
  try {
    exported = require(resolved) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`plugin '${spec}' (listed in ${declaredIn}) failed to load: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  const manifest = (exported.manifest ?? exported.default) as PluginManifest | undefined;
  if (!manifest || typeof manifest.name !== 'string' || !Array.isArray(manifest.plugins)) {
    throw new UsageError(`plugin '${spec}' (listed in ${declaredIn}) exports no manifest: expected \`export const manifest = { name, plugins: [...] }\``);
  }
  return manifest;
}

/**
 * The file a manifest entry names (a path, or a package resolved from the declaring file's folder, then the working
 * directory), found without running anything: resolution reads `package.json` files only.
 * @throws UsageError when there is no such file or package
 */
export function resolveManifestModule(spec: string, declaredIn: string): string {
  try {
    return require.resolve(spec, { paths: [dirname(declaredIn), process.cwd()] });
  } catch {
    throw new UsageError(`plugin '${spec}' (listed in ${declaredIn}) was not found: ${existsSync(spec) ? 'it cannot be required' : 'no such file or package'}`);
  }
}

let typeScriptRegistered = false;

/** Lets `.ts` plugins load without a build step (transpile only: type errors are the plugin author's build's job). */
function registerTypeScript(): void {
  if (typeScriptRegistered) return;

  const tsNode = require('ts-node') as typeof import('ts-node');
  tsNode.register({
    transpileOnly: true,
    // Plugin packages live in node_modules, which ts-node skips by default.
    ignore: [],
    compilerOptions: { module: 'commonjs', moduleResolution: 'node10', experimentalDecorators: true, target: 'ES2022', ignoreDeprecations: '5.0' },
  });
  typeScriptRegistered = true;
}

let aliased = false;

function aliasShnetForPlugins(): void {
  if (aliased) return;
  const entry = join(__dirname, '..', 'index.js');
  const moduleWithResolver = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = moduleWithResolver._resolveFilename;
  moduleWithResolver._resolveFilename = function resolveShnet(request: string, ...rest: unknown[]): string {
    return request === 'shnet' ? entry : original.call(this, request, ...rest);
  };
  aliased = true;
}

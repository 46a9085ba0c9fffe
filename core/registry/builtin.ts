import { join } from 'node:path';
import { loadManifestModule } from './load-manifest';
import type { PluginManifest } from './plugin-spec';
import { PluginRegistry } from './registry';

/**
 * The built-in manifest (`plugins/manifest.ts`), loaded by path like any external manifest: core never imports
 * `plugins/`, it only knows where the shipped manifest lives.
 */
export function builtinManifest(): PluginManifest {
  return loadManifestModule(join(__dirname, '..', '..', 'plugins', 'manifest.js'), 'shnet');
}

/** A registry holding the given manifests, in order. */
export function createRegistry(manifests: readonly PluginManifest[]): PluginRegistry {
  const registry = new PluginRegistry();
  for (const manifest of manifests) registry.addManifest(manifest);
  return registry;
}

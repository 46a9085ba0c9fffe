import { Ajv, type ValidateFunction } from 'ajv';
import { UsageError } from '../errors';
import { PLUGIN_KINDS, type PluginKind } from '../kinds';
import type { DescribedManifest, PluginDescription, PluginManifest, PluginSpec } from './plugin-spec';
import { closestNames } from './suggest';

/** A registered plugin: what it is, the manifest that brought it, its compiled options validator, and its code. */
export interface RegisteredPlugin {
  readonly spec: PluginDescription;
  /** Name of the manifest (package) that registered it. */
  readonly source: string;
  readonly validate: ValidateFunction;
  /** The plugin's code, when its manifest was loaded as code; absent when it is known from `shnet-plugin.json` only. */
  readonly code?: PluginSpec;
}

/**
 * Formats an options schema may use: `file-name`, one path component (a run name becomes a folder under
 * `output`, so `../x` or `a/b` must not pass). Messages for them are in `schema-errors.ts`.
 */
export const OPTION_FORMATS: Readonly<Record<string, (value: string) => boolean>> = {
  'file-name': (value) => value !== '.' && value !== '..' && !/[/\\\0]/.test(value),
};

/**
 * Shared ajv settings: fill defaults, keep numbers as given (no coercion: a recipe's `"3"` is an error), and
 * `strictNumbers` (NaN and ±Infinity are not numbers: `epochs: .inf` must not pass as an integer).
 */
export function createOptionsAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true, strictNumbers: true });
  for (const [name, validate] of Object.entries(OPTION_FORMATS)) ajv.addFormat(name, validate);
  return ajv;
}

/**
 * The plugin registry: `(kind, name)` → spec. Plain framework code, not DI (DI only wires services).
 * Plugins arrive through manifests only; a duplicate name is an error unless the newcomer says `override: true`.
 */
export class PluginRegistry {
  private readonly byKind = new Map<PluginKind, Map<string, RegisteredPlugin>>();
  private readonly manifests: PluginManifest[] = [];
  private readonly sources: string[] = [];
  private readonly ajv = createOptionsAjv();

  /**
   * Registers every plugin of a manifest: code (a {@link PluginManifest}, whose plugins can be built) or data (a
   * {@link DescribedManifest}, whose plugins can be validated and listed only). All problems are reported
   * together; nothing is registered on error.
   */
  addManifest(manifest: PluginManifest | DescribedManifest, options: { readonly code?: boolean } = {}): void {
    const isCode = options.code ?? manifest.plugins.every((p) => typeof (p as PluginSpec).plugin === 'function');
    const problems: string[] = [];
    for (const spec of manifest.plugins) {
      if (!(PLUGIN_KINDS as readonly string[]).includes(spec.kind)) {
        problems.push(`'${spec.name}' has unknown kind '${spec.kind}' (kinds: ${PLUGIN_KINDS.join(', ')})`);
        continue;
      }
      const existing = this.byKind.get(spec.kind)?.get(spec.name);
      if (existing && !(spec.override ?? manifest.override)) {
        problems.push(
          `${spec.kind} '${spec.name}' is already registered by '${existing.source}'; ` + `set 'override: true' in ${manifest.name}'s manifest to replace it`,
        );
      }
    }
    const names = manifest.plugins.map((p) => `${p.kind}/${p.name}`);
    const repeated = names.filter((n, i) => names.indexOf(n) !== i);
    for (const n of new Set(repeated)) problems.push(`${n} appears twice in the manifest`);
    if (problems.length > 0) {
      throw new UsageError(`cannot load plugin manifest '${manifest.name}':\n  - ${problems.join('\n  - ')}`);
    }
    const validators = new Map<PluginDescription, ValidateFunction>();
    for (const spec of manifest.plugins) {
      try {
        validators.set(spec, this.ajv.compile(closedObject(spec.options)));
      } catch (error) {
        problems.push(`${spec.kind} '${spec.name}' has an options schema that does not compile: ${(error as Error).message}`);
      }
    }
    if (problems.length > 0) {
      throw new UsageError(`cannot load plugin manifest '${manifest.name}':\n  - ${problems.join('\n  - ')}`);
    }
    for (const spec of manifest.plugins) {
      const ofKind = this.byKind.get(spec.kind) ?? new Map<string, RegisteredPlugin>();
      ofKind.set(spec.name, { spec, source: manifest.name, validate: validators.get(spec)!, ...(isCode ? { code: spec as PluginSpec } : {}) });
      this.byKind.set(spec.kind, ofKind);
    }
    if (isCode) this.manifests.push(manifest as PluginManifest);
    this.sources.push(manifest.name);
  }

  /** The plugin of `kind` named `name`, or a {@link UsageError} listing that kind's names with a "did you mean". */
  get(kind: PluginKind, name: string): RegisteredPlugin {
    const found = this.byKind.get(kind)?.get(name);
    if (found) return found;
    throw new UsageError(this.unknownNameMessage(kind, name));
  }

  /**
   * The code of the plugin of `kind` named `name`, to build it. A plugin known only from its data manifest has
   * none: that is a {@link UsageError} (validation never loads plugin code; building must load it first).
   */
  implementation(kind: PluginKind, name: string): PluginSpec {
    const found = this.get(kind, name);
    if (found.code) return found.code;
    throw new UsageError(`${kind} '${name}' (from ${found.source}) is known from its shnet-plugin.json only: its code was not loaded, so it cannot be built`);
  }

  has(kind: PluginKind, name: string): boolean {
    return this.byKind.get(kind)?.has(name) ?? false;
  }

  /** Plugins of one kind (or all), sorted by kind then name. */
  list(kind?: PluginKind): RegisteredPlugin[] {
    const kinds = kind ? [kind] : PLUGIN_KINDS;
    return kinds.flatMap((k) => [...(this.byKind.get(k)?.values() ?? [])].sort((a, b) => a.spec.name.localeCompare(b.spec.name)));
  }

  /** Every manifest loaded as code so far, in load order (what a run's DI container takes services from). */
  loadedManifests(): readonly PluginManifest[] {
    return this.manifests;
  }

  /** The message for an unknown name: where the registry looked, what it holds, the closest names. */
  unknownNameMessage(kind: PluginKind, name: string): string {
    const available = [...(this.byKind.get(kind)?.keys() ?? [])].sort();
    const suggestions = closestNames(name, available);
    const lines = [`unknown ${kind} '${name}'`];
    const elsewhere = PLUGIN_KINDS.filter((other) => other !== kind && this.has(other, name));
    if (elsewhere.length > 0)
      lines[0] += `: '${name}' is ${elsewhere.map((other) => `${article(other)} ${other}`).join(' and ')}, not ${article(kind)} ${kind}`;
    else if (suggestions.length > 0) lines[0] += `; did you mean ${suggestions.map((s) => `'${s}'`).join(' or ')}?`;
    lines.push(
      available.length > 0 ? `${kind} plugins: ${available.join(', ')}` : `no ${kind} plugins are registered`,
      `(looked in manifests: ${this.sources.join(', ') || 'none'}; ` + `load more with the recipe's 'plugins:' list)`,
    );
    return lines.join('\n');
  }
}

const article = (word: string) => (/^[aeiou]/.test(word) ? 'an' : 'a');

/** Options objects are closed unless a plugin says otherwise: an unknown option is a typo, not a silent no-op. */
function closedObject(schema: PluginDescription['options']): PluginDescription['options'] {
  return schema.type === 'object' && schema.additionalProperties === undefined ? { ...schema, additionalProperties: false } : schema;
}

import { Ajv, type ValidateFunction } from 'ajv';
import { UsageError } from '../errors';
import { PLUGIN_KINDS, type PluginKind } from '../kinds';
import type { PluginManifest, PluginSpec } from './plugin-spec';
import { closestNames } from './suggest';

/** A registered plugin: its spec, the manifest that brought it, and its compiled options validator. */
export interface RegisteredPlugin {
  readonly spec: PluginSpec;
  /** Name of the manifest (package) that registered it. */
  readonly source: string;
  readonly validate: ValidateFunction;
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
  private readonly ajv = createOptionsAjv();

  /** Registers every plugin of a manifest. All duplicates are reported together; nothing is registered on error. */
  addManifest(manifest: PluginManifest): void {
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
    for (const spec of manifest.plugins) {
      const ofKind = this.byKind.get(spec.kind) ?? new Map<string, RegisteredPlugin>();
      ofKind.set(spec.name, { spec, source: manifest.name, validate: this.ajv.compile(closedObject(spec.options)) });
      this.byKind.set(spec.kind, ofKind);
    }
    this.manifests.push(manifest);
  }

  /** The plugin of `kind` named `name`, or a {@link UsageError} listing that kind's names with a "did you mean". */
  get(kind: PluginKind, name: string): RegisteredPlugin {
    const found = this.byKind.get(kind)?.get(name);
    if (found) return found;
    throw new UsageError(this.unknownNameMessage(kind, name));
  }

  has(kind: PluginKind, name: string): boolean {
    return this.byKind.get(kind)?.has(name) ?? false;
  }

  /** Plugins of one kind (or all), sorted by kind then name. */
  list(kind?: PluginKind): RegisteredPlugin[] {
    const kinds = kind ? [kind] : PLUGIN_KINDS;
    return kinds.flatMap((k) => [...(this.byKind.get(k)?.values() ?? [])].sort((a, b) => a.spec.name.localeCompare(b.spec.name)));
  }

  /** Every manifest loaded so far, in load order. */
  loadedManifests(): readonly PluginManifest[] {
    return this.manifests;
  }

  /** The message for an unknown name: where the registry looked, what it holds, the closest names. */
  unknownNameMessage(kind: PluginKind, name: string): string {
    const available = [...(this.byKind.get(kind)?.keys() ?? [])].sort();
    const suggestions = closestNames(name, available);
    const lines = [`unknown ${kind} '${name}'`];
    if (suggestions.length > 0) lines[0] += `; did you mean ${suggestions.map((s) => `'${s}'`).join(' or ')}?`;
    lines.push(
      available.length > 0 ? `${kind} plugins: ${available.join(', ')}` : `no ${kind} plugins are registered`,
      `(looked in manifests: ${this.manifests.map((m) => m.name).join(', ') || 'none'}; ` + `load more with the recipe's 'plugins:' list)`,
    );
    return lines.join('\n');
  }
}

/** Options objects are closed unless a plugin says otherwise: an unknown option is a typo, not a silent no-op. */
function closedObject(schema: PluginSpec['options']): PluginSpec['options'] {
  return schema.type === 'object' && schema.additionalProperties === undefined ? { ...schema, additionalProperties: false } : schema;
}

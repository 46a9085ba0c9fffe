import type { Static, TSchema } from '@sinclair/typebox';
import type { ContainerModule } from 'inversify';
import type { CliCommandContribution } from '../contracts/cli-command';
import type { PluginKind } from '../kinds';
import type { DataFactsReader, NodeCheck } from './node-check';

/** A class whose constructor parameters are all `@inject(TOKEN)`-decorated (see `core/tokens.ts`). */
export type PluginClass<T = unknown> = new (...args: never[]) => T;

/**
 * A child node a plugin holds: `aggregator`, `highlight.semantic`, … The slot's value in a recipe is itself a node
 * `{type, args}` of `kind`; an optional slot may be `null` (switched off), which is how ablations remove a block.
 */
export interface SlotSpec {
  readonly kind: PluginKind;
  readonly optional?: boolean;
  /** One line shown by `shnet plugins` and in the JSON Schema. */
  readonly doc: string;
  /** The node used when a recipe leaves the slot out entirely (`null` still switches it off). */
  readonly defaultNode?: Readonly<{ type: string; args?: Record<string, unknown> }>;
}

/**
 * What a plugin is, as data: everything validation and `shnet plugins` need, none of its code. A plugin package's
 * `shnet-plugin.json` holds one per plugin (see `core/registry/described-manifest.ts`), so a recipe that names the
 * package validates without running it.
 */
export interface PluginDescription<S extends TSchema = TSchema> {
  readonly kind: PluginKind;
  /** The recipe `type` that selects this plugin. */
  readonly name: string;
  /** One line: what it is, in the paper's terms where it has them. */
  readonly doc: string;
  readonly version: string;
  readonly options: S;
  readonly slots?: Readonly<Record<string, SlotSpec>>;
  /** Replace an existing registration of the same (kind, name) instead of failing. */
  readonly override?: boolean;
}

/**
 * One registrable plugin: `(kind, name)` → class + options schema + one-line doc + version.
 * `options` is a JSON Schema (written with TypeBox so the class gets `Static<typeof options>` for free);
 * defaults in the schema are filled in before the plugin is built.
 */
export interface PluginSpec<S extends TSchema = TSchema> extends PluginDescription<S> {
  readonly plugin: PluginClass;
  /** What the conformance suite needs beyond the schema defaults to build this plugin small (`core/conformance/`). */
  readonly conformance?: ConformanceFixture;
  /**
   * Checks across nodes that this plugin's options schema cannot express, run by validation after every node's
   * own schema passed (`core/recipe/cross-checks.ts`): widths that must agree with a child's, sizes the data set
   * must have. Returns problems located by key path; an empty list when the node is consistent.
   */
  readonly check?: NodeCheck;
  /** Data sets: what the data set holds, known before it is built (split sizes, class count, widths). */
  readonly dataFacts?: DataFactsReader;
}

/**
 * How the conformance suite (`shnet test-plugin`, `core/conformance/`) builds a plugin whose defaults are too big
 * or that reads files: tiny `args`, and a `setup` that writes what the plugin needs into an empty temporary folder
 * (deleted after the run) and returns further args (`{ modelDir: dir }`). Both are merged over the suite's own
 * tiny defaults (`embedDim: 8`).
 */
export interface ConformanceFixture {
  readonly args?: Readonly<Record<string, unknown>>;
  setup?(dir: string): Record<string, unknown>;
}

/** The validated `args` type of a plugin spec. */
export type PluginArgs<P extends PluginSpec> = Static<P['options']>;

/**
 * What a plugin package exports (named export `manifest`, or default export): its plugins, optionally an inversify
 * `ContainerModule` with services it brings, and CLI commands. Loading a manifest is the only way a plugin
 * becomes known — nothing registers itself on import.
 */
export interface PluginManifest {
  /** Package name, shown in errors ("registered by …"). */
  readonly name: string;
  readonly version?: string;
  readonly plugins: readonly PluginSpec[];
  /** Every plugin of this manifest may replace an existing one of the same (kind, name). */
  readonly override?: boolean;
  readonly services?: ContainerModule;
  readonly commands?: readonly CliCommandContribution[];
}

/**
 * A plugin manifest as data: a package's name and its plugins' descriptions, no code. Read from the package's
 * `shnet-plugin.json` when a recipe names it and its code may not (or need not) run.
 */
export interface DescribedManifest {
  readonly name: string;
  readonly version?: string;
  readonly override?: boolean;
  readonly plugins: readonly PluginDescription[];
}

/** Identity helper that keeps the literal types of a spec (so `PluginArgs<typeof spec>` is precise). */
export function definePlugin<S extends TSchema>(spec: PluginSpec<S>): PluginSpec<S> {
  return spec;
}

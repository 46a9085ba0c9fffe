import type { TSchema } from '@sinclair/typebox';
import type { PluginKind } from '../kinds';
import { OPTION_FORMATS, type PluginRegistry } from '../registry/registry';
import type { SlotSpec } from '../registry/plugin-spec';
import { NodeKey, RecipeKey } from './reserved-keys';
import { ROOT_SLOTS, RootSettings, SEGMENTER_STAGE_SLOTS, slotGroups } from './root';

type JsonSchema = Record<string, unknown>;

/**
 * A JSON Schema (draft-07) of recipe files, generated from the registry: every slot offers the names of its kind,
 * and each name's `args` are checked against that plugin's options. Recipe files may be partial (a child recipe
 * sets one option of a node its base defines), so nothing is required here: completeness is checked by
 * `shnet validate` after `extends` are merged.
 */
export function recipeJsonSchema(registry: PluginRegistry): JsonSchema {
  // Both root layouts at once (retrieval and `stage: segmenter`): nothing is required here anyway.
  const slots = { ...ROOT_SLOTS, ...SEGMENTER_STAGE_SLOTS, segmenter: { ...SEGMENTER_STAGE_SLOTS.segmenter, optional: true } };
  const kinds = new Set<PluginKind>();
  collectKinds(slots, registry, kinds);
  const definitions: Record<string, JsonSchema> = {};
  for (const kind of kinds) definitions[kind] = nodeSchema(kind, registry);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://shnet.dev/schema/recipe.json',
    title: 'shnet recipe',
    type: 'object',
    additionalProperties: false,
    properties: {
      [RecipeKey.extends]: {
        description: 'recipe(s) this one is merged onto, relative paths',
        anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
      },
      [RecipeKey.plugins]: { description: 'plugin manifests to load: relative paths or package names', type: 'array', items: { type: 'string' } },
      [RecipeKey.sweep]: {
        type: 'object',
        description: 'keys to vary when this recipe is given to `shnet sweep` (see docs/sweeps.md); ignored by `shnet run`',
      },
      ...mapValues(RootSettings.properties as Record<string, TSchema>, partial),
      ...slotProperties(slots),
    },
    definitions,
  };
}

function collectKinds(slots: Readonly<Record<string, SlotSpec>>, registry: PluginRegistry, into: Set<PluginKind>): void {
  for (const slot of Object.values(slots)) {
    if (into.has(slot.kind)) continue;
    into.add(slot.kind);
    for (const plugin of registry.list(slot.kind)) collectKinds(plugin.spec.slots ?? {}, registry, into);
  }
}

/** Properties for a set of slots, dotted slots nested inside their group objects. */
function slotProperties(slots: Readonly<Record<string, SlotSpec>>): Record<string, JsonSchema> {
  const groups = slotGroups(slots);
  const build = (prefix: string, names: readonly string[]): Record<string, JsonSchema> =>
    Object.fromEntries(
      [...new Set(names)].map((name) => {
        const path = prefix ? `${prefix}.${name}` : name;
        const slot = slots[path];
        if (slot) {
          const ref = { $ref: `#/definitions/${slot.kind}` };
          return [name, slot.optional ? { description: slot.doc, anyOf: [ref, { type: 'null' }] } : { description: slot.doc, ...ref }];
        }
        return [name, { type: 'object', additionalProperties: false, properties: build(path, groups.get(path) ?? []) }];
      }),
    );
  return build(
    '',
    Object.keys(slots).map((s) => s.split('.')[0]),
  );
}

/** A node of `kind`: `type` is one of the registered names, and `args` follows the chosen plugin's options. */
function nodeSchema(kind: PluginKind, registry: PluginRegistry): JsonSchema {
  const plugins = registry.list(kind);
  const slotNames = new Set(plugins.flatMap((p) => Object.keys(p.spec.slots ?? {}).map((s) => s.split('.')[0])));
  // A node without `type` (a child recipe refining its base) is still checked against the slots its kind offers.
  const anySlots = Object.assign({}, ...plugins.map((p) => p.spec.slots ?? {})) as Record<string, SlotSpec>;
  return {
    type: 'object',
    properties: {
      ...slotProperties(anySlots),
      // An empty enum is not valid JSON Schema; `not: {}` accepts nothing, which is what no registered plugin means.
      [NodeKey.type]:
        plugins.length > 0
          ? { enum: plugins.map((p) => p.spec.name), description: `which ${kind} plugin` }
          : { not: {}, description: `no ${kind} plugin is registered` },
      [NodeKey.args]: { type: 'object' },
      [NodeKey.merge]: { type: 'boolean', description: 'keep the base args although type changed' },
    },
    ...(plugins.length === 0
      ? {}
      : {
          allOf: plugins.map((p) => ({
            if: { properties: { [NodeKey.type]: { const: p.spec.name } }, required: [NodeKey.type] },
            then: {
              description: p.spec.doc,
              properties: { [NodeKey.args]: partial(p.spec.options), ...slotProperties(p.spec.slots ?? {}) },
              propertyNames: { enum: [...Object.values(NodeKey), ...new Set(Object.keys(p.spec.slots ?? {}).map((s) => s.split('.')[0]))] },
            },
          })),
        }),
    ...(slotNames.size === 0 ? { additionalProperties: false } : {}),
  };
}

/** A `${key.path}` reference, allowed wherever a value is (it is resolved before validation). */
const REFERENCE = { type: 'string', pattern: '\\$\\{[\\w.-]+\\}', description: 'a ${key.path} reference' };

/**
 * The schema as a recipe *file* may use it: no `required` (files may be partial), closed objects by default, and
 * every option may instead be a `${…}` reference.
 */
function partial(schema: TSchema): JsonSchema {
  const copy = JSON.parse(JSON.stringify(schema)) as JsonSchema;
  const strip = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    const object = node as JsonSchema;
    delete object.required;
    // shnet's own formats (a run name is one path component) are checked by `shnet validate`; editors do not know them.
    if (typeof object.format === 'string' && object.format in OPTION_FORMATS) delete object.format;
    if (object.type === 'object' && object.properties && object.additionalProperties === undefined) object.additionalProperties = false;
    Object.values(object).forEach(strip);
    if (object.properties && typeof object.properties === 'object') {
      for (const [key, property] of Object.entries(object.properties as Record<string, JsonSchema>)) {
        (object.properties as Record<string, JsonSchema>)[key] = { anyOf: [property, REFERENCE] };
      }
    }
  };
  strip(copy);
  return copy;
}

function mapValues<T, U>(record: Record<string, T>, f: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));
}

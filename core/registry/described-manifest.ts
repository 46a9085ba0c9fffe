import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { Type, type TSchema } from '@sinclair/typebox';
import { PLUGIN_KINDS } from '../kinds';
import { UsageError } from '../errors';
import { writeFileAtomic } from '../atomic-write';
import type { DescribedManifest, PluginDescription, PluginManifest } from './plugin-spec';
import { createOptionsAjv } from './registry';

/**
 * A plugin package's manifest as data: `shnet-plugin.json`, beside the module that exports the manifest. It lists
 * every plugin's kind, name, doc, version, options schema and slots — what validation and `shnet plugins` need —
 * so that a recipe naming the package is checked without running any of its code (VS Code reads an extension's
 * `contributes` the same way, and activates its code only when it is used). `shnet manifest PACKAGE` writes it
 * from the code; loading the code for a run checks that the two still agree.
 *
 * The file may come from anyone, so it is read as untrusted input: at most {@link DESCRIBED_LIMITS}.bytes, no
 * `__proto__` keys, options schemas at most {@link DESCRIBED_LIMITS}.schemaDepth deep, and without the keywords
 * whose checking can be made to take unbounded time or reach outside the file (`pattern`, `patternProperties`,
 * `format`, `$ref`, …; ajv's advice for untrusted schemas). Those keywords are checked when the plugin's code is
 * loaded, from its own schema.
 */
export const DESCRIBED_MANIFEST_FILE = 'shnet-plugin.json';

export const DESCRIBED_LIMITS = { bytes: 1024 * 1024, schemaDepth: 32 } as const;

/** The format version written into the file. */
const FORMAT = 1;

/** Where the data manifest of a manifest module (an absolute file path) is. */
export function describedManifestPath(moduleFile: string): string {
  return join(dirname(moduleFile), DESCRIBED_MANIFEST_FILE);
}

/** A code manifest as the data its `shnet-plugin.json` holds (untrusted-schema keywords removed). */
export function describeManifest(manifest: PluginManifest | DescribedManifest): DescribedManifest {
  return {
    name: manifest.name,
    ...(manifest.version !== undefined ? { version: manifest.version } : {}),
    ...(manifest.override !== undefined ? { override: manifest.override } : {}),
    plugins: manifest.plugins.map(describePlugin),
  };
}

function describePlugin(spec: PluginDescription): PluginDescription {
  return {
    kind: spec.kind,
    name: spec.name,
    doc: spec.doc,
    version: spec.version,
    options: safeSchema(JSON.parse(JSON.stringify(spec.options)) as TSchema),
    ...(spec.slots ? { slots: JSON.parse(JSON.stringify(spec.slots)) as PluginDescription['slots'] } : {}),
    ...(spec.override !== undefined ? { override: spec.override } : {}),
  };
}

/** Whether a data manifest and the description of a code manifest say the same thing. */
export function sameDescription(a: DescribedManifest, b: DescribedManifest): boolean {
  return sortedJson(describeManifest(a)) === sortedJson(describeManifest(b));
}

/** Writes `shnet-plugin.json` for the manifest exported by `moduleFile`, atomically; returns its path. */
export function writeDescribedManifest(moduleFile: string, manifest: PluginManifest): string {
  const path = describedManifestPath(moduleFile);
  writeFileAtomic(path, [Buffer.from(`${JSON.stringify({ shnetPluginManifest: FORMAT, ...describeManifest(manifest) }, null, 2)}\n`)]);
  return path;
}

const SlotShape = Type.Object(
  {
    kind: Type.Union(PLUGIN_KINDS.map((k) => Type.Literal(k))),
    doc: Type.String({ maxLength: 1000 }),
    optional: Type.Optional(Type.Boolean()),
    defaultNode: Type.Optional(Type.Object({ type: Type.String({ maxLength: 200 }), args: Type.Optional(Type.Record(Type.String(), Type.Unknown())) })),
  },
  { additionalProperties: false },
);

const FileShape = Type.Object(
  {
    shnetPluginManifest: Type.Literal(FORMAT),
    name: Type.String({ minLength: 1, maxLength: 214 }),
    version: Type.Optional(Type.String({ maxLength: 100 })),
    override: Type.Optional(Type.Boolean()),
    plugins: Type.Array(
      Type.Object(
        {
          kind: Type.Union(PLUGIN_KINDS.map((k) => Type.Literal(k))),
          name: Type.String({ minLength: 1, maxLength: 200 }),
          doc: Type.String({ maxLength: 1000 }),
          version: Type.String({ maxLength: 100 }),
          options: Type.Object({}, { additionalProperties: true }),
          slots: Type.Optional(Type.Record(Type.String({ maxLength: 200 }), SlotShape)),
          override: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
      { maxItems: 1000 },
    ),
  },
  { additionalProperties: false },
);

const checkShape = createOptionsAjv().compile(FileShape);

/**
 * Reads and checks a `shnet-plugin.json`. Returns null when there is none; throws a {@link UsageError} naming the
 * file when it is not one shnet can use.
 */
export function readDescribedManifest(path: string): DescribedManifest | null {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return null;
  }
  const fail = (why: string): never => {
    throw new UsageError(`${shown(path)}: ${why}`);
  };
  if (!stats.isFile()) fail('not a regular file');
  const text = readBounded(path, DESCRIBED_LIMITS.bytes, fail);
  if (jsonNestingPast(text, DESCRIBED_LIMITS.schemaDepth + 4)) fail(`nested deeper than ${DESCRIBED_LIMITS.schemaDepth} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') throw new Error("'__proto__' cannot be a key");
      return value;
    });
  } catch (error) {
    return fail(`not valid JSON: ${(error as Error).message}`);
  }
  if (!checkShape(parsed)) {
    const first = checkShape.errors?.[0];
    fail(`not a plugin manifest (${first?.instancePath || '(file)'} ${first?.message ?? ''}); write it with \`shnet manifest MODULE\``);
  }
  const { shnetPluginManifest: _format, ...manifest } = parsed as DescribedManifest & { shnetPluginManifest: number };
  return describeManifest(manifest);
}

/** Paths inside the working directory are shown relative to it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

function readBounded(path: string, limit: number, fail: (why: string) => never): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > limit) fail(`${size.toLocaleString('en')} bytes; a plugin manifest may be at most ${limit.toLocaleString('en')}`);
    const buffer = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Keywords whose value is one subschema, a list of them, or a map of them: the walk follows only these. */
const SUBSCHEMA = ['additionalProperties', 'items', 'not', 'if', 'then', 'else', 'propertyNames', 'contains', 'additionalItems'];
const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'items'];
const SUBSCHEMA_MAPS = ['properties'];
/** Keywords dropped from a described schema: unbounded checking time (regular expressions, formats) or outside references. */
const UNSAFE = [
  'pattern',
  'patternProperties',
  'format',
  '$ref',
  '$id',
  '$schema',
  '$defs',
  'definitions',
  '$data',
  '$async',
  'dependencies',
  'dependentSchemas',
];

/** A copy of a schema without {@link UNSAFE} keywords, at every level. */
function safeSchema(schema: TSchema): TSchema {
  const clean = (node: unknown): unknown => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (UNSAFE.includes(key)) continue;
      if (SUBSCHEMA_MAPS.includes(key) && typeof value === 'object' && value !== null) {
        out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, clean(sub)]));
      } else if (SUBSCHEMA_LISTS.includes(key) && Array.isArray(value)) out[key] = value.map(clean);
      else if (SUBSCHEMA.includes(key)) out[key] = clean(value);
      else out[key] = value;
    }
    return out;
  };
  return clean(schema) as TSchema;
}

/**
 * Whether JSON text nests `[`/`{` deeper than `limit` (the file's own levels, plugins and their options, come on top
 * of a schema's depth). Checked on the text, before `JSON.parse` recurses into it.
 */
function jsonNestingPast(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (++depth > limit) return true;
    } else if (c === ']' || c === '}') depth--;
  }
  return false;
}

/** JSON with keys sorted at every level, to compare two descriptions whatever order their keys were written in. */
function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

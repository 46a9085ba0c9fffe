import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YamlNode } from 'yaml';
import { RecipeError, type RecipeProblem, type SourceLocation } from './errors';
import { joinPath, type LocatedRecipe } from './located';
import { SECRET_TAG } from './secrets';

/** A parsed recipe file: plain data, the line of every key path, and the values its author marked `!secret`. */
export interface ParsedRecipe extends LocatedRecipe {
  readonly secrets: readonly string[];
}

/** Tags that only say what a plain value already is (`!!str 512`); `!!binary`, `!!set`, `!!timestamp` are not plain. */
const PLAIN_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

/**
 * How far a recipe may go before it is refused as hostile rather than parsed: an alias may be expanded this many
 * times in all (YAML's "billion laughs"), and flow collections (`[…]`, `{…}`) may nest this deep (the YAML parser
 * recurses once per level and exhausts the stack or the heap past a few thousand).
 */
export const YAML_LIMITS = { aliasExpansions: 100, flowDepth: 64 } as const;

/**
 * Parses one YAML recipe text into plain data plus the line of every key path. Everything wrong is a
 * {@link RecipeError} located at its line: syntax errors, duplicate keys, tags other than `!secret` (a recipe is
 * plain data: `!!js/function` or a custom `!foo` is refused, not silently read as a string), `__proto__` as a key
 * (it would reach JavaScript's object prototype), aliases that expand too much, and nesting too deep to parse.
 */
export function parseRecipeYaml(text: string, file: string): ParsedRecipe {
  const parsed = parseYaml(text, file);
  const data = parsed.data ?? {}; // an empty file is an empty recipe
  const { locations, secrets } = parsed;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new RecipeError([{ path: '', message: 'a recipe must be a mapping of keys to values', location: { file, line: 1 } }]);
  }
  return { data: data as Record<string, unknown>, locations, secrets };
}

/**
 * One YAML value given on the command line (`--set key=VALUE`), under the same rules as a recipe file; problems are
 * located at `location` (`--set:2`).
 */
export function parseYamlValue(text: string, location: SourceLocation): { value: unknown; secrets: readonly string[] } {
  try {
    const { data, secrets } = parseYaml(text, location.file);
    return { value: data, secrets };
  } catch (error) {
    if (!(error instanceof RecipeError)) throw error;
    // A value is one short line: the parser's whole message fits, with the value and a caret under the fault.
    const syntax = parseDocument(text, { prettyErrors: true }).errors[0];
    throw new RecipeError(
      error.problems.map((p, i) => ({
        ...p,
        location,
        ...(i === 0 && syntax ? { message: `value is not valid YAML: ${wholeYamlError(syntax.message)}` } : {}),
      })),
    );
  }
}

/**
 * The whole of a YAML parser error: its sentence, then the text with the parser's caret under the fault, indented to
 * sit under the problem line (the parser ends its first line with ':' and puts them below).
 */
function wholeYamlError(message: string): string {
  const [sentence, ...frame] = message.split('\n').filter((line) => line.trim() !== '');
  return [sentence.replace(/:$/, ''), ...frame.map((line) => `      ${line}`)].join('\n');
}

function parseYaml(text: string, file: string): { data: unknown; locations: Map<string, SourceLocation>; secrets: string[] } {
  const lineCounter = new LineCounter();
  const tooDeep = flowNestingPast(text, YAML_LIMITS.flowDepth);
  if (tooDeep !== null) {
    throw new RecipeError([
      { path: '', message: `invalid YAML: [ and { nest more than ${YAML_LIMITS.flowDepth} levels deep`, location: { file, line: tooDeep } },
    ]);
  }
  // Duplicate keys are found below in one pass: the parser's own check (`uniqueKeys`) is quadratic in a map's size.
  const document = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const problems: RecipeProblem[] = document.errors.map((error) => ({
    path: '',
    message: `invalid YAML: ${error.message.split('\n')[0]}`,
    location: { file, line: lineAt(error.pos[0]) },
  }));
  for (const warning of document.warnings) {
    const tag = warning.code === 'TAG_RESOLVE_FAILED' ? /^Unresolved tag: (\S+)/.exec(warning.message)?.[1]?.replace(/^tag:yaml\.org,2002:/, '!!') : undefined;
    if (tag === SECRET_TAG) continue;
    problems.push({
      path: '',
      message: tag
        ? `unknown YAML tag ${tag}: a recipe holds plain values (the one tag it may use is ${SECRET_TAG}, see docs/recipes.md#secrets)`
        : `invalid YAML: ${warning.message.split('\n')[0]}`,
      location: { file, line: lineAt(warning.pos[0]) },
    });
  }
  // An alias inside the very collection it names would make the value contain itself: no recipe value can.
  visit(document, {
    Pair(_key, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        const range = (pair.key as YamlNode).range;
        problems.push({
          path: '',
          message: 'invalid YAML: a key must be a plain name, not a list or a mapping',
          location: { file, line: range ? lineAt(range[0]) : 1 },
        });
      }
    },
    Alias(_key, node, path) {
      const target = node.resolve(document);
      if (target && path.includes(target)) {
        problems.push({
          path: '',
          message: `invalid YAML: the alias *${node.source} is inside the collection it names (a value cannot contain itself)`,
          location: { file, line: node.range ? lineAt(node.range[0]) : 1 },
        });
      }
    },
  });
  if (problems.length > 0) throw new RecipeError(problems);

  let data: unknown;
  try {
    data = document.toJS({ maxAliasCount: YAML_LIMITS.aliasExpansions });
  } catch (error) {
    throw new RecipeError([
      {
        path: '',
        message: `invalid YAML: aliases expand to more than ${YAML_LIMITS.aliasExpansions} copies (${(error as Error).message})`,
        location: { file, line: firstAliasLine(document, lineAt) },
      },
    ]);
  }

  const locations = new Map<string, SourceLocation>();
  const secrets: string[] = [];
  const lineOf = (node: { range?: [number, number, number] | null } | null | undefined): number => (node?.range ? lineAt(node.range[0]) : 1);
  const walk = (node: YamlNode | null | undefined, path: string): void => {
    if (node?.tag && node.tag !== SECRET_TAG && !PLAIN_TAGS.has(node.tag)) {
      const shown = node.tag.replace(/^tag:yaml\.org,2002:/, '!!');
      problems.push({
        path,
        message: `unknown YAML tag ${shown}: a recipe holds plain values (the one tag it may use is ${SECRET_TAG}, see docs/recipes.md#secrets)`,
        location: { file, line: lineOf(node) },
      });
    }
    if (isScalar(node) && node.tag === SECRET_TAG && node.value !== null && node.value !== '') secrets.push(String(node.value));
    else if (node && !isScalar(node) && !isAlias(node) && node.tag === SECRET_TAG) {
      problems.push({ path, message: `${SECRET_TAG} marks one value (a string), not a collection`, location: { file, line: lineOf(node) } });
    }
    if (isMap(node)) {
      const seen = new Map<string, number>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const childPath = joinPath(path, key);
        const location = { file, line: lineOf(pair.key as YamlNode) };
        if (seen.has(key)) problems.push({ path: childPath, message: `duplicate key (first set on line ${seen.get(key)})`, location });
        if (key === '__proto__') problems.push({ path: childPath, message: "'__proto__' cannot be a key (it names JavaScript's object prototype)", location });
        if (!seen.has(key)) seen.set(key, location.line);
        locations.set(childPath, location);
        walk(pair.value as YamlNode, childPath);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const childPath = joinPath(path, index);
        locations.set(childPath, { file, line: lineOf(item as YamlNode) });
        walk(item as YamlNode, childPath);
      });
    }
  };
  locations.set('', { file, line: 1 });
  walk(document.contents as YamlNode, '');
  if (problems.length > 0) throw new RecipeError(problems);
  return { data, locations, secrets };
}

/**
 * The line where `[`/`{` first nest past `limit` levels, or null. Quoted strings and comments are skipped; this is a
 * guard run before the parser, so it only needs to be right about brackets that the parser would treat as flow.
 */
function flowNestingPast(text: string, limit: number): number | null {
  let depth = 0;
  let line = 1;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      line++;
      if (quote === null) continue;
    }
    if (quote !== null) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      const end = text.indexOf('\n', i);
      if (end < 0) break;
      i = end - 1;
    } else if ((c === '"' || c === "'") && depth > 0 && /[[{,:]/.test(previousNonBlank(text, i))) quote = c;
    else if (c === '[' || c === '{') {
      if (++depth > limit) return line;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return null;
}

function previousNonBlank(text: string, at: number): string {
  for (let i = at - 1; i >= 0; i--) if (!/\s/.test(text[i])) return text[i];
  return '';
}

function firstAliasLine(document: Document, lineAt: (offset: number) => number): number {
  let line = 1;
  visit(document, {
    Alias(_key, node) {
      if (node.range) line = lineAt(node.range[0]);
      return visit.BREAK;
    },
  });
  return line;
}

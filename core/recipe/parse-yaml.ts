import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { RecipeError, type SourceLocation } from './errors';
import { joinPath, type LocatedRecipe } from './located';

/**
 * Parses one YAML recipe text into plain data plus the line of every key path.
 * Syntax errors (including duplicate keys) become a {@link RecipeError} located at the offending line.
 */
export function parseRecipeYaml(text: string, file: string): LocatedRecipe {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) {
    throw new RecipeError(
      document.errors.map((error) => ({
        path: '',
        message: `invalid YAML: ${error.message.split('\n')[0]}`,
        location: { file, line: lineCounter.linePos(error.pos[0]).line },
      })),
    );
  }
  const data: unknown = document.toJS() ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new RecipeError([{ path: '', message: 'a recipe must be a mapping of keys to values', location: { file, line: 1 } }]);
  }
  const locations = new Map<string, SourceLocation>();
  const lineOf = (node: { range?: [number, number, number] | null } | null | undefined): number => (node?.range ? lineCounter.linePos(node.range[0]).line : 1);
  const walk = (node: YamlNode | null | undefined, path: string): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const childPath = joinPath(path, key);
        locations.set(childPath, { file, line: lineOf(pair.key as YamlNode) });
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
  return { data: data as Record<string, unknown>, locations };
}

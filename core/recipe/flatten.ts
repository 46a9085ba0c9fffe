import { redactRecipe } from './secrets';

/**
 * A nested recipe as flat key → string pairs (tracker params): nested keys joined by `.`, lists as JSON strings,
 * null as `'null'`. `{model: {image: {args: {embedDim: 1024}}}}` → `{'model.image.args.embedDim': '1024'}`.
 * An empty object keeps its key (`'{}'`), so a switched-off slot with no settings still shows. Secrets are shown
 * as `***` (`core/recipe/secrets.ts`): params are records, and records never hold them.
 */
export function flattenRecipe(recipe: Readonly<Record<string, unknown>>, separator = '.'): Record<string, string> {
  const tree = redactRecipe(recipe);
  const out: Record<string, string> = {};
  const visit = (node: unknown, key: string): void => {
    if (node === null || node === undefined) {
      out[key] = 'null';
    } else if (Array.isArray(node)) {
      out[key] = JSON.stringify(node);
    } else if (typeof node === 'object') {
      const entries = Object.entries(node as Record<string, unknown>);
      if (entries.length === 0 && key !== '') out[key] = '{}';
      for (const [k, v] of entries) visit(v, key === '' ? k : `${key}${separator}${k}`);
    } else {
      out[key] = String(node);
    }
  };
  visit(tree, '');
  return out;
}

import { strict as assert } from 'node:assert';
import { flattenRecipe } from '../../../core/recipe/flatten';

describe('flattenRecipe', () => {
  const cases: Array<{ name: string; tree: Record<string, unknown>; want: Record<string, string> }> = [
    { name: 'nested keys join with dots', tree: { model: { image: { args: { embedDim: 1024 } } } }, want: { 'model.image.args.embedDim': '1024' } },
    { name: 'lists become JSON', tree: { data: { splits: ['train', 'dev'] } }, want: { 'data.splits': '["train","dev"]' } },
    {
      name: 'null becomes the string null',
      tree: { schedule: null, tracker: { args: { uri: null } } },
      want: { schedule: 'null', 'tracker.args.uri': 'null' },
    },
    { name: 'booleans, strings and numbers as text', tree: { a: true, b: 'x', c: 5e-4 }, want: { a: 'true', b: 'x', c: '0.0005' } },
    { name: 'an empty object keeps its key', tree: { segmenter: { args: {} } }, want: { 'segmenter.args': '{}' } },
    {
      name: 'secrets are redacted: credential keys and URI passwords',
      tree: { vars: { token: 'hf_abcdef', db: 'postgres://alice:s3cret@db:5432/x', categoryToken: true } },
      want: { 'vars.token': '***', 'vars.db': 'postgres://***@db:5432/x', 'vars.categoryToken': 'true' },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(flattenRecipe(c.tree), c.want));
});

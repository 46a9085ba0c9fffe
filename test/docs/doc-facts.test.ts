/**
 * Facts the documentation states about the code, checked against the code: the demo's sizes in docs/recipes.md's
 * timing table are those of the shipped recipe, and the demo's wall time is stated once, in that table, and pointed
 * at from everywhere else.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinManifest } from '../../core/registry/builtin';
import { prepareRecipe } from '../../core/run/prepare';
import { REPO_ROOT } from '../support/python-env';
import { SHAPES_3SHNET } from '../support/tiny-shapes';

const read = (page: string) => readFileSync(join(REPO_ROOT, page), 'utf8');
const thousands = (n: number) => n.toLocaleString('en-US');

describe('documentation facts agree with the code', () => {
  it("docs/recipes.md's timing table describes the shipped recipe's epochs and split sizes", () => {
    const recipe = prepareRecipe(SHAPES_3SHNET, [], [builtinManifest()]);
    const data = (recipe.resolved.data as { args: { trainSize: number; testSize: number } }).args;
    const { epochs, validationImages } = recipe.settings.train;
    const described = `${epochs} epochs over ${thousands(data.trainSize)} training images, validation on ${validationImages} dev images after each, test on ${thousands(data.testSize)}`;
    const table = read('docs/recipes.md').split('### How long it takes')[1] ?? '';
    assert.ok(table.includes(described), `the table should say "${described}"`);
  });

  it("the demo's wall time is stated once (docs/recipes.md, How long it takes); other pages link there", () => {
    const pages = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).map((f) => `docs/${f}`), 'recipes/shapes/3shnet.yaml'].filter((p) =>
      /\.(md|yaml)$/.test(p),
    );
    // A duration of the demo or of one run, in words or figures: "about five minutes", "under 10 minutes", "8.1 min".
    const stated = /(about|under|takes|in)\s+(\w+|\d+(\.\d+)?)\s+min(ute)?s?\b|\b(five|ten|\d+)-minute\b/i;
    for (const page of pages) {
      const text = page === 'docs/recipes.md' ? read(page).split('### How long it takes')[0] : read(page);
      const found = text.split('\n').filter((line) => stated.test(line) && /demo|main job|one run|a run\b|each takes|3shnet/i.test(line));
      assert.deepEqual(found, [], `${page} states the demo's time; link docs/recipes.md#how-long-it-takes instead`);
    }
  });
});

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { resolveShapesOptions, shapesOptions } from '../../../../plugins/dataset/shapes/options';
import { ShapesDataset } from '../../../../plugins/dataset/shapes/plugin';
import { REPO_ROOT } from '../../../support/python-env';

const doc = readFileSync(join(REPO_ROOT, 'docs', 'datasets.md'), 'utf8');
const section = doc.slice(doc.indexOf('## `shapes`'));

describe('docs/datasets.md, shapes section', () => {
  it('has a recipe snippet that builds', async () => {
    const yamlBlock = /```yaml\n([\s\S]*?)```/.exec(section);
    assert.ok(yamlBlock, 'no yaml block');
    const node = parse(yamlBlock[1]).dataset;
    assert.equal(node.type, 'shapes');
    const dataset = new ShapesDataset(resolveShapesOptions(node.args));
    assert.equal((await dataset.open('dev')).numImages, node.args.devSize);
  });

  it('documents every option with its default', () => {
    const table = section.slice(section.indexOf('### Options'), section.indexOf('### What is in an image'));
    for (const [name, schema] of Object.entries(shapesOptions.properties)) {
      const row = table.split('\n').find((line) => line.includes(`\`${name}\``));
      assert.ok(row, `option ${name} is not in the table`);
      assert.ok(row.includes(String(schema.default)), `option ${name}: default ${schema.default} not in '${row}'`);
    }
  });
});

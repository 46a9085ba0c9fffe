import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { recipeJsonSchema } from '../../../core/recipe/json-schema';
import { planSweep } from '../../../core/sweep/plan';
import { builtinManifest, createRegistry } from '../../../core/registry/builtin';
import { shnet } from '../../support/cli';
import { REPO_ROOT } from '../../support/python-env';

function recipeFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? recipeFiles(path) : name.endsWith('.yaml') ? [path] : [];
  });
}

describe('recipe JSON Schema', () => {
  let schema: Record<string, unknown>;
  let validate: ValidateFunction;
  let files: string[];
  before(() => {
    schema = recipeJsonSchema(createRegistry([builtinManifest()]));
    validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    files = recipeFiles(join(REPO_ROOT, 'recipes'));
  });

  it('is what `shnet schema` prints', () => {
    const printed = shnet(['schema']);
    assert.equal(printed.status, 0, printed.stderr);
    assert.deepEqual(JSON.parse(printed.stdout), schema);
  });

  it('accepts every shipped recipe file; every shipped sweep file plans', () => {
    assert.ok(files.length >= 2, 'recipes/ holds recipes');
    for (const file of files) {
      const data = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      if ('recipe' in data && 'sweep' in data) {
        // A sweep file ({recipe, sweep}) is not a recipe: it is checked by planning it, which validates every trial.
        assert.ok(planSweep(file, [], [builtinManifest()]).trials.length > 0, relative(REPO_ROOT, file));
        continue;
      }
      const ok = validate(data);
      assert.ok(ok, `${relative(REPO_ROOT, file)}: ${JSON.stringify(validate.errors, null, 1)}`);
    }
  });

  it('rejects an unknown plugin name, an unknown option and a wrongly typed option', () => {
    const bad = [
      { model: { image: { aggregator: { type: 'gop' } } } },
      { loss: { type: 'triplet', args: { margni: 0.2 } } },
      { loss: { type: 'triplet', args: { margin: 'wide' } } },
      { trian: { epochs: 1 } },
    ];
    for (const recipe of bad) assert.equal(validate(recipe), false, JSON.stringify(recipe));
  });

  it('accepts a partial child recipe (no type on a node its base defines)', () => {
    assert.equal(validate({ extends: 'base.yaml', loss: { args: { margin: 0.3 } } }), true, JSON.stringify(validate.errors));
  });
});

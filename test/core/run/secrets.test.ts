/**
 * Secrets in a recipe never reach a file shnet writes (core/recipe/secrets.ts, docs/recipes.md#secrets): a real
 * `shnet run` with a token under a credential key, a value marked `!secret` (in the file and with --set) and a URI
 * with a password, logged to a local MLflow store; then every file under the run folder and the store is searched.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadRecipe } from '../../../core/recipe/load';
import { recipeHash } from '../../../core/recipe/resolve';
import { redactRecipe } from '../../../core/recipe/secrets';
import { shnet } from '../../support/cli';
import { REPO_ROOT } from '../../support/python-env';

const SECRETS = ['hf_TOKEN_abcdef123', 'tagged-Secret-42', 's3cr3t-pw', 'from-the-command-line'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('secrets in recipes', function () {
  this.timeout(120_000);
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-secrets-'));
    writeFileSync(
      join(dir, 'r.yaml'),
      `extends: ${join(REPO_ROOT, 'recipes', 'shapes', 'baseline.yaml')}
name: with-secrets
description: 'reads from \${vars.db} with \${vars.tagged}'
output: ${join(dir, 'runs')}
vars:
  token: ${SECRETS[0]}
  tagged: !secret ${SECRETS[1]}
  db: postgres://alice:${SECRETS[2]}@db.example:5432/captions
data: {args: {trainSize: 20, devSize: 5, testSize: 5}}
train: {epochs: 0}
tracker: {type: mlflow, args: {offline: true, localStore: ${join(dir, 'mlruns')}}}
`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a run writes none of them: not its recipe.yaml, nor the MLflow params, tags and artifact copies', () => {
    const out = shnet(['run', join(dir, 'r.yaml'), '--set', `vars.extra=!secret ${SECRETS[3]}`], { cwd: dir });
    assert.equal(out.status, 0, out.stderr);
    const files = [...filesUnder(join(dir, 'runs')), ...filesUnder(join(dir, 'mlruns'))];
    assert.ok(files.some((f) => f.endsWith('recipe.yaml')) && files.some((f) => /params/.test(f)), files.join('\n'));
    for (const file of files) {
      const text = readFileSync(file, 'latin1');
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `${file} holds ${secret}`);
    }
    for (const text of [out.stdout, out.stderr]) for (const secret of SECRETS) assert.ok(!text.includes(secret), `the output holds ${secret}`);

    const [runDir] = readdirSync(join(dir, 'runs'));
    const saved = parse(readFileSync(join(dir, 'runs', runDir, 'recipe.yaml'), 'utf8')) as { vars: Record<string, string>; description: string };
    assert.deepEqual(saved.vars, { embedDim: 128, token: '***', tagged: '***', db: 'postgres://***@db.example:5432/captions', extra: '***' });
    assert.equal(saved.description, 'reads from postgres://***@db.example:5432/captions with ***');
  });

  it('`validate --print` shows them as ***', () => {
    const out = shnet(['validate', join(dir, 'r.yaml'), '--print'], { cwd: dir });
    assert.equal(out.status, 0, out.stderr);
    for (const secret of SECRETS.slice(0, 3)) assert.ok(!out.stdout.includes(secret));
    assert.match(out.stdout, /token: "\*\*\*"/);
  });

  it('secrets are not part of the hash: the saved (redacted) recipe hashes as the run did', () => {
    const loaded = loadRecipe(join(dir, 'r.yaml'));
    const other = loadRecipe(join(dir, 'r.yaml'), ['vars.tagged=!secret another-one', 'vars.token=changed-token']);
    assert.equal(recipeHash(loaded.data, loaded.secrets), recipeHash(other.data, other.secrets));
    assert.equal(recipeHash(loaded.data, loaded.secrets), recipeHash(redactRecipe(loaded.data, loaded.secrets, false)));
    assert.notEqual(recipeHash(loaded.data, loaded.secrets), recipeHash(loadRecipe(join(dir, 'r.yaml'), ['vars.other=1']).data));
  });
});

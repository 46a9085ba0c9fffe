import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { prepareRecipe } from '../../../core/run/prepare';
import { planSweep } from '../../../core/sweep/plan';
import { manifest } from '../../../plugins/manifest';
import { hasStackTrace, shnet } from '../../support/cli';
import { REPO_ROOT } from '../../support/python-env';
import { setFlags, tinyShapesOverrides, writeSweepFile } from '../../support/tiny-shapes';

describe('shnet sweep (CLI)', () => {
  it('--dry-run prints the plan: one row per trial with its id and swept values', () => {
    const { dir, file } = writeSweepFile('grid:\n  optimizer.args.lr: [0.001, 0.002]\nseeds: [0, 1]');
    const result = shnet(['sweep', file, '--dry-run', ...setFlags(tinyShapesOverrides())], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[0], /^sweep [0-9a-f]{12}: 4 trials of /);
    assert.match(lines[1], /^#\s+trial\s+optimizer\.args\.lr\s+seed$/);
    assert.equal(lines.length, 2 + 4);
    assert.match(lines[2], /^1\s+[0-9a-f]{12}\s+0\.001\s+0$/);
    assert.match(lines[5], /^4\s+[0-9a-f]{12}\s+0\.002\s+1$/);
    assert.equal(existsSync(join(dir, 'runs')), false, 'a dry run writes nothing');
  });

  it('an invalid trial stops the sweep before any trial runs: exit 2, naming the trial and the key', () => {
    const { dir, file } = writeSweepFile('grid:\n  train.batchSize: [8, 1]');
    const result = shnet(['sweep', file, ...setFlags(tinyShapesOverrides())], { cwd: dir });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /1 of 2 sweep trials are invalid \(nothing was run\)/);
    assert.match(result.stderr, /trial 2\/2 \(train\.batchSize=1\):\n\s+.*sweep\.yaml:4: train\.batchSize: must be >= 2/);
    assert.ok(!hasStackTrace(result.stderr));
    assert.equal(existsSync(join(dir, 'runs')), false, 'no sweep folder, no run folder');
  });

  it('refuses an unknown executor with the names it knows', () => {
    const { dir, file } = writeSweepFile('seeds: [0]');
    const result = shnet(['sweep', file, '--executor', 'lokal', ...setFlags(tinyShapesOverrides())], { cwd: dir });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /local/);
    assert.equal(existsSync(join(dir, 'runs')), false);
  });
});

describe('docs/sweeps.md examples', () => {
  const docs = readFileSync(join(REPO_ROOT, 'docs', 'sweeps.md'), 'utf8');
  const sweepBlocks = [...docs.matchAll(/```yaml\n(recipe: [\s\S]*?)```/g)].map((m) => m[1]);

  it('the sweep file example plans (grid × samples × seeds, cut to its budget)', () => {
    const [example] = sweepBlocks;
    const dir = mkdtempSync(join(tmpdir(), 'shnet-sweep-docs-'));
    const file = join(dir, 'example.yaml');
    writeFileSync(
      file,
      example.replace(/^recipe: (.*)$/m, (_, path: string) => `recipe: ${JSON.stringify(resolve(REPO_ROOT, 'docs', path))}`),
    );
    const plan = planSweep(file, [], [manifest]);
    assert.equal(plan.trials.length, 20);
    assert.deepEqual(plan.keys, [
      'optimizer.args.lr',
      'vars.embedDim',
      'optimizer.args.weightDecay',
      'loss.args.margin',
      'train.batchSize',
      'model.text.args.wordDim',
      'seed',
    ]);
  });

  it('the ablation example is recipes/shapes/sweep-ablation.yaml: 5 steps × 5 seeds, from baseline.yaml to 3shnet.yaml', () => {
    const shipped = readFileSync(join(REPO_ROOT, 'recipes', 'shapes', 'sweep-ablation.yaml'), 'utf8');
    assert.equal(
      sweepBlocks[1].trim(),
      shipped
        .replace(/^#.*\n/gm, '')
        .replace(/^# .*$/gm, '')
        .trim(),
    );
    const plan = planSweep(join(REPO_ROOT, 'recipes', 'shapes', 'sweep-ablation.yaml'), [], [manifest]);
    assert.equal(plan.trials.length, 25);
    // Steps 1 and 5 are the shipped baseline and 3SHNet recipes, all but their names: the sweep's first and last
    // rows are the five-seed comparison of docs/results.md.
    const asRun = (recipe: string, seed: number) => {
      const { name: _name, description: _description, ...rest } = prepareRecipe(join(REPO_ROOT, 'recipes', 'shapes', recipe), [`seed=${seed}`], [manifest]).resolved;
      return rest;
    };
    const trial = (index: number) => {
      const { name: _name, description: _description, ...rest } = plan.trials[index].resolved;
      return rest;
    };
    assert.deepEqual(trial(0), asRun('baseline.yaml', 0), 'step 1 is the baseline');
    assert.deepEqual(trial(24), asRun('3shnet.yaml', 4), 'step 5 is full 3SHNet');
  });
});

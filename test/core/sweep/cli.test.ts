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

  it("the ablation example is recipes/shapes/sweep-ablation.yaml: the ladder's middle rungs × 3 seeds", () => {
    const shipped = readFileSync(join(REPO_ROOT, 'recipes', 'shapes', 'sweep-ablation.yaml'), 'utf8');
    assert.equal(
      sweepBlocks[1].trim(),
      shipped
        .replace(/^#.*\n/gm, '')
        .replace(/^# .*$/gm, '')
        .trim(),
    );
    const plan = planSweep(join(REPO_ROOT, 'recipes', 'shapes', 'sweep-ablation.yaml'), [], [manifest]);
    assert.equal(plan.trials.length, 9);
    const image = (t: (typeof plan.trials)[number]) => (t.prepared.resolved.model as { image: Record<string, Record<string, unknown>> }).image;
    // The middle rungs: VSeM alone, both highlights, and the category token; the ends are sweep-results.yaml's.
    assert.deepEqual(image(plan.trials[0]).highlight.spatial, null, 'rung 2 has VSeM without VSpM');
    assert.equal(image(plan.trials[3]).args.categoryToken, false, 'rung 3 has both highlights, no extra token');
    assert.notEqual(image(plan.trials[3]).highlight.spatial, null);
    assert.equal(image(plan.trials[6]).args.categoryToken, true, 'rung 4 adds the category token');
    assert.equal(image(plan.trials[6]).args.segmentGridTokens, false);
  });

  it('recipes/shapes/sweep-results.yaml runs baseline.yaml and 3shnet.yaml exactly (all but their names), five seeds each', () => {
    const plan = planSweep(join(REPO_ROOT, 'recipes', 'shapes', 'sweep-results.yaml'), [], [manifest]);
    assert.equal(plan.trials.length, 10);
    const withoutNames = (resolved: Record<string, unknown>) => {
      const { name: _name, description: _description, ...rest } = resolved;
      return rest;
    };
    const asRun = (recipe: string, seed: number) =>
      withoutNames(prepareRecipe(join(REPO_ROOT, 'recipes', 'shapes', recipe), [`seed=${seed}`], [manifest]).resolved);
    for (const seed of [0, 1, 2, 3, 4]) {
      assert.deepEqual(withoutNames(plan.trials[seed].prepared.resolved), asRun('baseline.yaml', seed), `baseline, seed ${seed}`);
      assert.deepEqual(withoutNames(plan.trials[5 + seed].prepared.resolved), asRun('3shnet.yaml', seed), `3SHNet, seed ${seed}`);
    }
  });
});

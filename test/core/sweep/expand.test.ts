import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandSweep } from '../../../core/sweep/expand';
import { planSweep, SweepPlanError } from '../../../core/sweep/plan';
import { readSweepFile } from '../../../core/sweep/spec';
import { RecipeError } from '../../../core/recipe/errors';
import { manifest } from '../../../plugins/manifest';
import { SHAPES_3SHNET, tinyShapesOverrides, writeSweepFile } from '../../support/tiny-shapes';

const manifests = [manifest];
const specOf = (yaml: string) => readSweepFile(writeSweepFile(yaml).file).spec;

describe('sweep expansion', () => {
  const cases: Array<{ name: string; sweep: string; count: number; first: Record<string, unknown>; last: Record<string, unknown> }> = [
    {
      name: 'grid: cartesian product, first key slowest',
      sweep: 'grid:\n  a.x: [1, 2, 3]\n  b: [p, q]',
      count: 6,
      first: { 'a.x': 1, b: 'p' },
      last: { 'a.x': 3, b: 'q' },
    },
    {
      name: 'seeds crossed with the grid, innermost',
      sweep: 'grid:\n  a: [1, 2]\nseeds: [0, 1, 2]',
      count: 6,
      first: { a: 1, seed: 0 },
      last: { a: 2, seed: 2 },
    },
    { name: 'seeds alone', sweep: 'seeds: [5, 7]', count: 2, first: { seed: 5 }, last: { seed: 7 } },
    {
      name: 'budget keeps the first trials in plan order',
      sweep: 'grid:\n  a: [1, 2, 3]\nseeds: [0, 1]\nbudget: 4',
      count: 4,
      first: { a: 1, seed: 0 },
      last: { a: 2, seed: 1 },
    },
    {
      name: 'typed values stay typed',
      sweep: "grid:\n  a: [512, '512', true, null, {type: mean}]",
      count: 5,
      first: { a: 512 },
      last: { a: { type: 'mean' } },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const points = expandSweep(specOf(c.sweep));
      assert.equal(points.length, c.count);
      assert.deepEqual(points[0], c.first);
      assert.deepEqual(points[points.length - 1], c.last);
    });
  }

  it('typed values reach the assignment with their YAML types', () => {
    const points = expandSweep(specOf("grid:\n  a: [512, '512', true, null]"));
    assert.deepEqual(
      points.map((p) => p.a),
      [512, '512', true, null],
    );
  });

  it('draws random keys within their ranges, crossed with the grid and seeds', () => {
    const spec = specOf(
      'grid:\n  g: [1, 2]\nrandom:\n  lr: {loguniform: [1.0e-5, 1.0e-2]}\n  drop: {uniform: [0.1, 0.3]}\n  width: {int: [4, 6]}\n  act: {choice: [relu, gelu]}\nsamples: 50\nseed: 7\nseeds: [0, 1]',
    );
    const points = expandSweep(spec);
    assert.equal(points.length, 2 * 50 * 2);
    for (const p of points) {
      assert.ok((p.lr as number) >= 1e-5 && (p.lr as number) < 1e-2);
      assert.ok((p.drop as number) >= 0.1 && (p.drop as number) < 0.3);
      assert.ok([4, 5, 6].includes(p.width as number));
      assert.ok(['relu', 'gelu'].includes(p.act as string));
    }
    assert.deepEqual(new Set(points.map((p) => p.width)), new Set([4, 5, 6]), 'int bounds are inclusive');
    // The same samples for every grid point and seed: the grid varies, the draws do not.
    assert.deepEqual(points[0], { ...points[2 * 50], g: 1 } as Record<string, unknown>);
    assert.equal(points[0].lr, points[1].lr, 'seeds innermost repeat the same draw');
  });

  it('is deterministic, and a key keeps its draws when another random key is added', () => {
    const one = expandSweep(specOf('random:\n  lr: {uniform: [0, 1]}\nsamples: 5\nseed: 3'));
    const again = expandSweep(specOf('random:\n  lr: {uniform: [0, 1]}\nsamples: 5\nseed: 3'));
    const more = expandSweep(specOf('random:\n  lr: {uniform: [0, 1]}\n  wd: {uniform: [0, 1]}\nsamples: 5\nseed: 3'));
    const other = expandSweep(specOf('random:\n  lr: {uniform: [0, 1]}\nsamples: 5\nseed: 4'));
    assert.deepEqual(one, again);
    assert.deepEqual(
      one.map((p) => p.lr),
      more.map((p) => p.lr),
    );
    assert.notDeepEqual(one, other);
  });

  it('reports every malformed sweep entry at once, located', () => {
    const { file } = writeSweepFile('grid:\n  a: []\nrandom:\n  b: {normal: [0, 1]}\n  c: {loguniform: [0, 1]}\nsamples: 0\nseeds: [1, 1]\ncolour: red');
    assert.throws(
      () => readSweepFile(file),
      (error: RecipeError) => {
        assert.ok(error instanceof RecipeError);
        const paths = error.problems.map((p) => p.path).sort();
        assert.deepEqual(paths, ['sweep', 'sweep.colour', 'sweep.grid.a', 'sweep.random.b', 'sweep.random.c', 'sweep.samples', 'sweep.seeds']);
        assert.ok(
          error.problems.every((p) => p.location?.file.endsWith('sweep.yaml') && p.location.line > 1),
          'located in the sweep file',
        );
        return true;
      },
    );
  });
});

describe('sweep plan', () => {
  it('gives trials the first 12 hex of their resolved recipe hash, the same on every expansion', () => {
    const { file } = writeSweepFile('grid:\n  optimizer.args.lr: [0.001, 0.002]\n  vars.embedDim: [8, 16]');
    const plan = planSweep(file, tinyShapesOverrides(), manifests);
    const again = planSweep(file, tinyShapesOverrides(), manifests);
    assert.equal(plan.trials.length, 4);
    assert.deepEqual(
      plan.trials.map((t) => t.id),
      again.trials.map((t) => t.id),
    );
    assert.equal(plan.id, again.id);
    for (const trial of plan.trials) assert.equal(trial.id, trial.hash.slice(0, 12));
    assert.equal(new Set(plan.trials.map((t) => t.id)).size, 4);
    assert.deepEqual(plan.keys, ['optimizer.args.lr', 'vars.embedDim']);
  });

  it('applies assignments as --set does: typed, through ${} references, resetting args when the type changes', () => {
    const { file } = writeSweepFile("grid:\n  vars.embedDim: [24]\n  description: ['512']\n  model.image.aggregator: [{type: mean}]");
    const [trial] = planSweep(file, tinyShapesOverrides(), manifests).trials;
    const image = (trial.prepared.resolved.model as Record<string, Record<string, Record<string, unknown>>>).image;
    assert.equal(image.args.embedDim, 24, '${vars.embedDim} follows the swept value, as a number');
    assert.equal(trial.prepared.resolved.description, '512');
    assert.deepEqual(image.aggregator, { type: 'mean', args: {} }, 'gpo args do not leak into mean');
  });

  it('keeps one trial for points that resolve to the same recipe', () => {
    const { file } = writeSweepFile('grid:\n  train.epochs: [1, 1]');
    const plan = planSweep(file, tinyShapesOverrides(), manifests);
    assert.equal(plan.trials.length, 1);
    assert.deepEqual(plan.duplicates, [{ index: 2, of: plan.trials[0].id }]);
  });

  it('reads a sweep: section of a recipe, and leaves it out of every trial', () => {
    const { dir } = writeSweepFile('seeds: [0]');
    const recipe = join(dir, 'swept.yaml');
    writeFileSync(recipe, `extends: ${JSON.stringify(SHAPES_3SHNET)}\nsweep:\n  seeds: [1, 2]\n`);
    const plan = planSweep(recipe, tinyShapesOverrides(), manifests);
    assert.deepEqual(
      plan.trials.map((t) => t.prepared.resolved.seed),
      [1, 2],
    );
    assert.ok(plan.trials.every((t) => !('sweep' in t.prepared.resolved)));
  });

  it('validates every trial and reports all invalid ones together, naming trial and key at the sweep file line', () => {
    const { file } = writeSweepFile("grid:\n  optimizer.args.lr: [0.001, -1]\n  data.args.trainSize: [8, '8']");
    assert.throws(
      () => planSweep(file, tinyShapesOverrides(), manifests),
      (error: SweepPlanError) => {
        assert.ok(error instanceof SweepPlanError, String(error));
        assert.equal(error.exitCode, 2);
        assert.equal(error.failures.length, 3, error.message);
        assert.match(error.message, /3 of 4 sweep trials are invalid/);
        assert.match(error.message, /trial 2\/4 \(optimizer\.args\.lr=0\.001, data\.args\.trainSize="8"\)/);
        assert.match(error.message, /sweep\.yaml:5: data\.args\.trainSize: must be integer/);
        assert.match(error.message, /sweep\.yaml:4: optimizer\.args\.lr: must be > 0/);
        return true;
      },
    );
  });
});

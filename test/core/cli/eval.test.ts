import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shnet } from '../../support/cli';
import { tinyShapesOverrides } from '../../support/tiny-shapes';
import { REPO_ROOT, runPython } from '../../support/python-env';

type Metrics = Record<string, number>;

/** A 3SHNet shapes run of seconds on wasm: a few 16×16 images, 16-d embeddings, one epoch of two steps. */
const SHAPES_3SHNET = join(REPO_ROOT, 'recipes', 'shapes', '3shnet.yaml');
const TINY_RUN = [...tinyShapesOverrides(), 'data.args.testSize=10'];
const setFlags = (overrides: readonly string[]): string[] => overrides.flatMap((o) => ['--set', o]);

const readJson = <T = Record<string, unknown>>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** Every value of a metric file of the MLflow FileStore (`timestamp value step` lines), by metric key. */
function loggedMetrics(store: string, prefix: string): Metrics {
  const out: Metrics = {};
  const walk = (dir: string, key: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const name = key ? `${key}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path, name);
      else out[name] = Number(readFileSync(path, 'utf8').trim().split('\n').pop()!.split(' ')[1]);
    }
  };
  for (const experiment of readdirSync(store).filter((e) => /^\d+$/.test(e) && e !== '0')) {
    for (const run of readdirSync(join(store, experiment)).filter((r) => existsSync(join(store, experiment, r, 'metrics', prefix)))) {
      walk(join(store, experiment, run, 'metrics', prefix), '');
    }
  }
  return out;
}

describe('shnet eval and shnet encode @slow', function () {
  this.timeout(240_000);
  let dir: string;
  let runDir: string;
  let logged: { test: { metrics: Metrics } };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-eval-'));
    const trained = shnet(
      [
        'run',
        SHAPES_3SHNET,
        ...setFlags([...TINY_RUN, `output=${join(dir, 'runs')}`, 'tracker.type=mlflow', `tracker.args.localStore=${join(dir, 'mlruns')}`]),
      ],
      { cwd: dir },
    );
    assert.equal(trained.status, 0, trained.stderr);
    runDir = join(dir, 'runs', readdirSync(join(dir, 'runs'))[0]);
    logged = readJson(join(runDir, 'evaluation.json'));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reproduces the test metrics the run logged, from its folder and from its checkpoint file', () => {
    const result = shnet(['eval', runDir], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /i2t R@1 .* rSum/);
    const report = readJson<{ metrics: Metrics; numImages: number; split: string }>(join(runDir, 'eval-test-all.json'));
    assert.equal(report.split, 'test');
    assert.equal(report.numImages, 10);
    assert.deepEqual(report.metrics, logged.test.metrics);
    // The same numbers went to MLflow when the run trained.
    assert.deepEqual(loggedMetrics(join(dir, 'mlruns'), 'test'), report.metrics);

    const out = join(dir, 'from-checkpoint.json');
    const fromFile = shnet(['eval', join(runDir, 'checkpoints', 'best.safetensors'), '--out', out], { cwd: dir });
    assert.equal(fromFile.status, 0, fromFile.stderr);
    assert.deepEqual(readJson<{ metrics: Metrics }>(out).metrics, logged.test.metrics);
  });

  it('writes encodings whose numpy similarity, evaluated with --sims, gives the same metrics', () => {
    const out = join(dir, 'encoded');
    const result = shnet(['encode', runDir, '--split', 'test', '--out', out], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(readFileSync(join(out, 'captions.txt'), 'utf8').trim().split('\n').length, 50);
    const sims = join(dir, 'numpy-sims.npy');
    const shapes = JSON.parse(
      runPython(
        [
          'import json, sys, numpy as np',
          'img = np.load(sys.argv[1] + "/images.npy"); cap = np.load(sys.argv[1] + "/captions.npy")',
          // float64 products summed, then rounded once to float32: the evaluator's own similarity arithmetic.
          'np.save(sys.argv[2], (img.astype(np.float64) @ cap.astype(np.float64).T).astype(np.float32))',
          'print(json.dumps({"images": list(img.shape), "captions": list(cap.shape), "dtype": str(img.dtype)}))',
        ].join('\n'),
        [out, sims],
      ),
    );
    assert.deepEqual(shapes, { images: [10, 16], captions: [50, 16], dtype: 'float32' });
    const report = join(dir, 'sims.json');
    const evaluated = shnet(['eval', '--sims', sims, '--out', report], { cwd: dir });
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.deepEqual(readJson<{ metrics: Metrics }>(report).metrics, logged.test.metrics);
  });

  it('encodes the images alone (--images-only) of a split wrapped without captions, exactly as the full encode does', () => {
    const exported = join(dir, 'exported');
    const exportArgs = ['--splits', 'test', '--test-size', '6', '--image-size', '16', '--regions', '4', '--feature-dim', '53'];
    assert.equal(shnet(['data', 'export', '--dataset', 'shapes', '--out', exported, ...exportArgs], { cwd: dir }).status, 0);
    const wrapped = join(dir, 'wrapped');
    const arrays = (name: string) => join(exported, `test_${name}`);
    const seg = ['--segmentations', arrays('segmentations.npy'), '--seg-maps', arrays('seg_maps.npy'), '--categories', arrays('cat_onehots.npy')];
    for (const [split, captions] of [
      ['gallery', []],
      ['captioned', ['--captions', arrays('caps.txt')]],
    ] as const) {
      const wrap = shnet(['data', 'wrap', '--out', wrapped, '--split', split, '--features', arrays('ims.npy'), ...captions, ...seg], { cwd: dir });
      assert.equal(wrap.status, 0, wrap.stderr);
    }
    const data = `{type: precomp, args: {root: ${wrapped}}}`;
    const alone = join(dir, 'images-only');
    const imagesOnly = shnet(['encode', runDir, '--data', data, '--split', 'gallery', '--images-only', '--out', alone], { cwd: dir });
    assert.equal(imagesOnly.status, 0, imagesOnly.stderr);
    assert.deepEqual(readdirSync(alone).sort(), ['encode.json', 'images.npy']);
    assert.equal(readJson<{ imagesOnly: boolean; numImages: number }>(join(alone, 'encode.json')).numImages, 6);
    const both = join(dir, 'both');
    const full = shnet(['encode', runDir, '--data', data, '--split', 'captioned', '--out', both], { cwd: dir });
    assert.equal(full.status, 0, full.stderr);
    assert.deepEqual(readFileSync(join(alone, 'images.npy')), readFileSync(join(both, 'images.npy')));

    for (const command of [['encode', '--out', join(dir, 'never')], ['eval']]) {
      const refused = shnet([command[0], runDir, '--data', data, '--split', 'gallery', ...command.slice(1)], { cwd: dir });
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, /split 'gallery' has 0 captions for 6 images: an images-only split is encoded with shnet encode --images-only/);
      assert.doesNotMatch(refused.stderr, /^\[shnet\] encoded/m, 'nothing was encoded');
    }
  });

  it('an ensemble of a run with itself equals the run, and --track logs a parent run with one child per member', () => {
    const out = join(dir, 'ensemble.json');
    const saved = join(dir, 'ensemble.npy');
    const result = shnet(['eval', '--ensemble', runDir, runDir, '--out', out, '--save-sims', saved, '--track'], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const report = readJson<{ ensemble: { metrics: Metrics }; members: Array<{ metrics: Metrics }>; trackerRunId: string }>(out);
    assert.deepEqual(report.ensemble.metrics, logged.test.metrics);
    for (const member of report.members) assert.deepEqual(member.metrics, logged.test.metrics);
    assert.ok(existsSync(saved));
    const store = join(dir, 'mlruns');
    const children = readdirSync(store)
      .filter((e) => /^\d+$/.test(e))
      .flatMap((e) => readdirSync(join(store, e)).map((r) => join(store, e, r, 'tags', 'mlflow.parentRunId')))
      .filter((tag) => existsSync(tag) && readFileSync(tag, 'utf8').trim() === report.trackerRunId);
    assert.equal(children.length, 2);
  });

  it('evaluates on another data set (--data) and under a named protocol', () => {
    const other = `{type: shapes, args: {seed: 11, trainSize: 16, devSize: 8, testSize: 12, imageSize: 16, regionsPerImage: 4, featureDim: 53, maxObjects: 3}}`;
    const out = join(dir, 'cross.json');
    const result = shnet(['eval', runDir, '--data', other, '--protocol', 'f30k-1k', '--out', out], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    const report = readJson<{ numImages: number; protocol: string; metrics: Metrics; overrides: string[] }>(out);
    assert.equal(report.numImages, 12);
    assert.equal(report.protocol, 'f30k-1k');
    assert.ok(report.metrics.rsum >= 0 && report.metrics.rsum <= 600);
    assert.deepEqual(report.overrides, [`data=${other}`]);
  });

  it('writes per-query ranks (--ranks) under either tie policy (--ties), consistent with the metrics', () => {
    const files = { optimistic: join(dir, 'ranks-optimistic.json'), pessimistic: join(dir, 'ranks-pessimistic.npy') };
    for (const ties of ['optimistic', 'pessimistic'] as const) {
      const out = join(dir, `eval-${ties}.json`);
      const result = shnet(['eval', runDir, '--ties', ties, '--ranks', files[ties], '--out', out], { cwd: dir });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`ties ${ties}`));
      assert.equal(readJson<{ ties: string }>(out).ties, ties);
    }
    const optimistic = readJson<{ ties: string; i2t: number[]; t2i: number[] }>(files.optimistic);
    assert.equal(optimistic.ties, 'optimistic');
    assert.equal(optimistic.i2t.length, 10);
    assert.equal(optimistic.t2i.length, 50);
    // R@1 of the run's logged report, recomputed from the ranks file (the default policy is optimistic).
    const r1 = (ranks: number[]) => (100 * ranks.filter((r) => r < 1).length) / ranks.length;
    assert.equal(r1(optimistic.i2t), logged.test.metrics['i2t/R1']);
    assert.equal(r1(optimistic.t2i), logged.test.metrics['t2i/R1']);
    const pessimistic = JSON.parse(
      runPython('import json, sys, numpy as np\nprint(json.dumps(np.load(sys.argv[1]).tolist()))', [files.pessimistic]),
    ) as number[][];
    pessimistic.forEach((row, i) => {
      assert.ok(row[0] >= optimistic.i2t[i]);
      row.slice(1).forEach((r, k) => assert.ok(r >= optimistic.t2i[5 * i + k]));
    });
    const bad = shnet(['eval', runDir, '--ties', 'random'], { cwd: dir });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /optimistic, pessimistic/);
    assert.equal(shnet(['eval', runDir, '--ranks', join(dir, 'ranks.txt')], { cwd: dir }).status, 2);
  });

  it('refuses ambiguous requests (exit 2) and a protocol the split cannot be cut into', () => {
    assert.equal(shnet(['eval'], { cwd: dir }).status, 2);
    assert.equal(shnet(['eval', runDir, '--sims', 'x.npy'], { cwd: dir }).status, 2);
  });

  it('rejects an unknown protocol, or one the split does not fit, in one line before encoding anything (exit 2)', () => {
    const unknown = shnet(['eval', runDir, '--protocol', 'foo'], { cwd: dir });
    assert.equal(unknown.status, 2, unknown.stderr);
    assert.match(unknown.stderr, /^shnet: unknown retrieval protocol 'foo' \(known: all, coco-5fold-1k, coco-5k, f30k-1k\)$/m);
    assert.doesNotMatch(unknown.stderr, /encoded/, 'nothing was encoded');
    const fold = shnet(['eval', runDir, '--protocol', 'coco-5fold-1k'], { cwd: dir });
    assert.equal(fold.status, 2, fold.stderr);
    const errors = fold.stderr.split('\n').filter((line) => !line.startsWith('[shnet]') && line !== '');
    assert.deepEqual(errors, ['shnet: protocol coco-5fold-1k is defined for 5000 images (5 folds of 1000), and the split has 10']);
    assert.doesNotMatch(fold.stderr, /encoded/);
  });
});

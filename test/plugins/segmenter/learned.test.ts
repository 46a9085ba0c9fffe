import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../../core/backend/tf';
import type { Optimizer } from '../../../core/contracts/training';
import { saveCheckpoint } from '../../../core/train/checkpoint';
import { adamwSpec } from '../../../plugins/optimizer/adamw';
import { learnedSegmenterSpec, resolveSegmenterCheckpoint, type LearnedSegmenter } from '../../../plugins/segmenter/learned';
import { shnet } from '../../support/cli';
import { tinyShapesOverrides } from '../../support/tiny-shapes';
import { buildPlugin, evaluation, training } from '../../support/plugin-harness';
import { REPO_ROOT } from '../../support/python-env';
import { seededTensor } from '../../support/tensors';

const TINY_RUN = tinyShapesOverrides();
const setFlags = (overrides: readonly string[]): string[] => overrides.flatMap((o) => ['--set', o]);

// C = 7 classes, 16×16 maps, 4×4 grid; 16×16 pixels.
const INFO = { numClasses: 7, mapSize: 16, gridSize: 4, imageSize: 16 };

describe('LearnedSegmenter', () => {
  before(() => tf.setBackend('cpu'));
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'shnet-learned-seg-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives logits [B, m, m, C] and three consistent outputs: cell means of probabilities, arg-max map, present classes', () => {
    const seg = buildPlugin<LearnedSegmenter>(learnedSegmenterSpec, { info: INFO, args: { channels: [4, 6, 8] } });
    const pixels = seededTensor([2, 16, 16, 3]) as tf.Tensor4D;
    const out = tf.tidy(() => {
      const logits = seg.pixelLogits({ batchSize: 2, pixels }, evaluation());
      const s = seg.segment({ batchSize: 2, pixels }, evaluation());
      return {
        logitShape: logits.shape,
        gridShape: s.classGrid.shape,
        cellSums: Array.from(s.classGrid.sum(1).dataSync()),
        labels: Array.from(s.labelMap.dataSync()),
        argmax: Array.from(logits.argMax(3).dataSync()),
        categories: Array.from(s.categories.dataSync()),
      };
    });
    assert.deepEqual(out.logitShape, [2, 16, 16, 7]);
    assert.deepEqual(out.gridShape, [2, 7, 4, 4]);
    for (const sum of out.cellSums) assert.ok(Math.abs(sum - 1) < 1e-5, `cell probabilities sum to ${sum}`);
    assert.deepEqual(out.labels, out.argmax);
    for (let b = 0; b < 2; b++) {
      const counts = new Array(7).fill(0);
      for (const label of out.labels.slice(b * 256, (b + 1) * 256)) counts[label]++;
      // presenceThreshold 0.002 of 256 pixels: one labelled pixel makes a class present.
      assert.deepEqual(
        out.categories.slice(b * 7, (b + 1) * 7),
        counts.map((n) => (n > 0 ? 1 : 0)),
      );
    }
    tf.dispose(pixels);
    seg.dispose();
  });

  it('loads a checkpoint frozen: the same weights, none trainable, BatchNorm statistics untouched in training mode', () => {
    const source = buildPlugin<LearnedSegmenter>(learnedSegmenterSpec, { info: INFO, args: { channels: [4, 6, 8] }, seed: 5 });
    const optimizer = buildPlugin<Optimizer>(adamwSpec);
    const file = join(dir, 'seg.safetensors');
    saveCheckpoint(file, source.parameters(), optimizer, { step: 0, epoch: 0, optimizerStep: 0, rng: [], bestScore: null, recipeHash: 'x' });
    const loaded = buildPlugin<LearnedSegmenter>(learnedSegmenterSpec, { info: INFO, args: { channels: [4, 6, 8], checkpoint: file }, seed: 9 });
    const [a, b] = [source.parameters(), loaded.parameters()];
    assert.deepEqual(
      b.map((p) => p.name),
      a.map((p) => p.name),
    );
    assert.ok(b.every((p) => !p.trainable));
    for (let i = 0; i < a.length; i++) assert.deepEqual(Array.from(b[i].variable.dataSync()), Array.from(a[i].variable.dataSync()), a[i].name);
    const pixels = seededTensor([2, 16, 16, 3]) as tf.Tensor4D;
    const stats = () => b.filter((p) => p.name.endsWith('running_mean')).map((p) => Array.from(p.variable.dataSync()));
    const before = stats();
    tf.tidy(() => void loaded.segment({ batchSize: 2, pixels }, training()));
    assert.deepEqual(stats(), before);
    tf.dispose(pixels);
    [source, loaded, optimizer].forEach((x) => x.dispose());
  });

  it("resolves a checkpoint given as a file, a run folder, or a run-folder prefix ending in '*' (the newest)", () => {
    for (const run of ['seg-2026-01-01T00-00-00-000Z', 'seg-2026-02-01T00-00-00-000Z', 'other-2027-01-01T00-00-00-000Z']) {
      runFolder(join(dir, run));
    }
    const newest = join(dir, 'seg-2026-02-01T00-00-00-000Z', 'checkpoints', 'best.safetensors');
    assert.equal(resolveSegmenterCheckpoint(join(dir, 'seg-*')), newest);
    assert.equal(resolveSegmenterCheckpoint(join(dir, 'seg-2026-02-01T00-00-00-000Z')), newest);
    assert.equal(resolveSegmenterCheckpoint(newest), newest);
    assert.throws(() => resolveSegmenterCheckpoint(join(dir, 'none-*')), /no run folder matches/);
  });
});

/** A run folder with an (empty) best checkpoint: enough for resolving paths. */
function runFolder(run: string): void {
  mkdirSync(join(run, 'checkpoints'), { recursive: true });
  writeFileSync(join(run, 'checkpoints', 'best.safetensors'), '');
}

describe('segmenter stage and the learned-segmentation pipeline @slow', function () {
  this.timeout(300_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'shnet-seg-stage-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('trains the segmenter (loss falls, pixel accuracy beats the majority class), then 3SHNet runs on its outputs', () => {
    const stage = shnet(
      [
        'run',
        join(REPO_ROOT, 'recipes', 'shapes', 'segmenter.yaml'),
        ...setFlags([
          'backend=wasm',
          'seed=2',
          'data.args.trainSize=400',
          'data.args.devSize=64',
          'data.args.testSize=128',
          'train.epochs=3',
          'train.logEvery=5',
          `output=${join(dir, 'runs')}`,
          'tracker=null',
        ]),
      ],
      { cwd: dir, timeoutMs: 240_000 },
    );
    assert.equal(stage.status, 0, stage.stderr);
    const runDir = join(dir, 'runs', readdirSync(join(dir, 'runs'))[0]);
    const report = JSON.parse(readFileSync(join(runDir, 'evaluation.json'), 'utf8')) as {
      epochLosses: number[];
      test: { pixelAccuracy: number; majorityAccuracy: number; meanIoU: number };
    };
    const windows = [...stage.stderr.matchAll(/step \d+\/\d+ loss ([\d.]+)/g)].map((m) => Number(m[1]));
    assert.ok(windows[windows.length - 1] < 0.5 * windows[0], `training loss ${windows.join(' → ')}`);
    assert.ok(report.epochLosses[2] < report.epochLosses[0], `epoch losses ${report.epochLosses.join(', ')}`);
    assert.ok(
      report.test.pixelAccuracy > report.test.majorityAccuracy,
      `pixel accuracy ${report.test.pixelAccuracy} vs majority ${report.test.majorityAccuracy}`,
    );

    const pipeline = shnet(
      [
        'run',
        join(REPO_ROOT, 'recipes', 'shapes', '3shnet-learned-seg.yaml'),
        ...setFlags([
          ...TINY_RUN,
          `model.image.segmenter.args.checkpoint=${join(dir, 'runs', 'shapes-segmenter-*')}`,
          `output=${join(dir, 'retrieval')}`,
          'tracker=null',
        ]),
      ],
      { cwd: dir, timeoutMs: 120_000 },
    );
    assert.equal(pipeline.status, 0, pipeline.stderr);
    assert.match(pipeline.stderr, /segmenter weights from .*best\.safetensors \(frozen\)/);
    assert.match(pipeline.stderr, /test on 'test'/);
  });
});

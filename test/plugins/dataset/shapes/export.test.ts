import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../../../../core/errors';
import { exportPrecomp, shapesCommands } from '../../../../plugins/dataset/shapes';
import { resolveShapesOptions } from '../../../../plugins/dataset/shapes/options';
import { ShapesDataset } from '../../../../plugins/dataset/shapes/plugin';
import { runPython } from '../../../support/python-env';

type NumpyArrays = Record<string, { dtype: string; shape: number[]; values: number[] }>;

/** Loads every exported array of `split` with numpy: dtype, shape and values. */
function readWithNumpy(dir: string, split: string): NumpyArrays {
  const out = runPython(
    `import json, sys, numpy as np
d, split = sys.argv[1], sys.argv[2]
result = {}
for name in ['ims', 'segmentations', 'seg_maps', 'cat_onehots']:
    a = np.load(f'{d}/{split}_{name}.npy')
    assert a.flags['C_CONTIGUOUS']
    result[name] = {'dtype': str(a.dtype), 'shape': list(a.shape), 'values': a.ravel().tolist()}
print(json.dumps(result))`,
    [dir, split],
  );
  return JSON.parse(out);
}

describe('shapes export', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'shapes-export-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the precomp layout that numpy reads, equal to the in-memory data set', async () => {
    const options = { seed: 8, trainSize: 7, devSize: 3, testSize: 2 };
    const written = exportPrecomp(options, dir, ['train', 'dev']);
    assert.deepEqual(
      written.map((w) => [w.split, w.numImages]),
      [
        ['train', 7],
        ['dev', 3],
      ],
    );
    const suffixes = ['caps.txt', 'ids.txt', 'ims.npy', 'segmentations.npy', 'seg_maps.npy', 'cat_onehots.npy'];
    const expectedFiles = ['dev', 'train'].flatMap((s) => suffixes.map((x) => `${s}_${x}`));
    assert.deepEqual(readdirSync(dir).sort(), [...expectedFiles, 'shapes.json'].sort());

    const dataset = new ShapesDataset(resolveShapesOptions(options));
    for (const [split, n] of [
      ['train', 7],
      ['dev', 3],
    ] as const) {
      const arrays = readWithNumpy(dir, split);
      assert.deepEqual(arrays.ims.shape, [n, 6, 64]);
      assert.deepEqual(arrays.segmentations.shape, [n, 7, 7, 7]);
      assert.deepEqual(arrays.seg_maps.shape, [n, 64, 64]);
      assert.deepEqual(arrays.cat_onehots.shape, [n, 7]);
      assert.deepEqual(
        [arrays.ims.dtype, arrays.segmentations.dtype, arrays.seg_maps.dtype, arrays.cat_onehots.dtype],
        ['float32', 'float32', 'uint8', 'float32'],
      );
      const opened = await dataset.open(split);
      const images = await opened.loadImages(Array.from({ length: n }, (_, i) => i));
      assert.deepEqual(arrays.ims.values, [...images.regions!.data]);
      assert.deepEqual(arrays.segmentations.values, [...images.segmentation!.classGrid.data]);
      assert.deepEqual(arrays.seg_maps.values, [...images.segmentation!.labelMap.data]);
      assert.deepEqual(arrays.cat_onehots.values, [...images.segmentation!.categories.data]);
      const captions = readFileSync(join(dir, `${split}_caps.txt`), 'utf8').split('\n');
      assert.equal(captions.pop(), '');
      assert.equal(captions.length, 5 * n);
      assert.deepEqual(captions, opened.captions());
      const ids = readFileSync(join(dir, `${split}_ids.txt`), 'utf8');
      assert.deepEqual(ids, Array.from({ length: n }, (_, i) => `${i}\n`).join(''));
    }
    const info = JSON.parse(readFileSync(join(dir, 'shapes.json'), 'utf8'));
    assert.equal(info.info.numClasses, 7);
    assert.equal(info.options.trainSize, 7);
  });

  it('streams splits longer than one chunk', () => {
    exportPrecomp({ seed: 1, testSize: 300, imageSize: 16 }, dir, ['test']);
    const out = runPython(
      `import sys, numpy as np
d = sys.argv[1]
g = np.load(d + '/test_segmentations.npy')
print(g.shape[0], float(np.abs(g.sum(axis=1) - 1).max()) < 1e-5, len(open(d + '/test_caps.txt').read().splitlines()))`,
      [dir],
    );
    assert.equal(out.trim(), '300 True 1500');
  });

  it('rejects an unknown split without writing it', () => {
    assert.throws(
      () => exportPrecomp({}, dir, ['train', 'testall']),
      (e: Error) => e instanceof UsageError && /'testall'/.test(e.message),
    );
    assert.deepEqual(readdirSync(dir), []);
  });

  it('runs as `shnet data export`', async () => {
    const printed: string[] = [];
    const program = new Command('shnet').exitOverride().configureOutput({ writeOut: (s) => printed.push(s) });
    for (const command of shapesCommands) command.register(program);
    const argv = ['data', 'export', '--dataset', 'shapes', '--out', dir, '--seed', '4', '--splits', 'dev,test'];
    const sizes = ['--dev-size', '4', '--test-size', '2', '--feature-dim', '56', '--regions', '5'];
    await program.parseAsync([...argv, ...sizes], { from: 'user' });
    assert.deepEqual(printed, [`dev: 4 images → ${dir}\n`, `test: 2 images → ${dir}\n`]);
    assert.ok(!existsSync(join(dir, 'train_caps.txt')));
    const out = runPython(`import sys, numpy as np; print(np.load(sys.argv[1] + '/dev_ims.npy').shape)`, [dir]);
    assert.equal(out.trim(), '(4, 5, 56)');
    const other = new Command('shnet').exitOverride();
    for (const command of shapesCommands) command.register(other);
    await assert.rejects(
      other.parseAsync(['data', 'export', '--dataset', 'coco', '--out', dir], { from: 'user' }),
      (e: Error) => e instanceof UsageError && /unknown dataset 'coco'/.test(e.message),
    );
  });
});

import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrecompDataset } from '../../../../plugins/dataset/precomp/plugin';
import { hasStackTrace, shnet } from '../../../support/cli';
import { runPython } from '../../../support/python-env';

/** Arrays as a user has them, written by numpy in assorted dtypes: N = 3 images. */
function writeArrays(dir: string): void {
  runPython(
    `import numpy as np, sys, os
d = sys.argv[1]
np.save(os.path.join(d, 'clip.npy'), np.arange(3 * 6, dtype=np.float64).reshape(3, 6) / 10)
np.save(os.path.join(d, 'regions.npy'), np.arange(3 * 4 * 5, dtype=np.int32).reshape(3, 4, 5))
np.save(os.path.join(d, 'grid.npy'), np.full((3, 7, 7, 7), 1 / 7, dtype=np.float32))
np.save(os.path.join(d, 'maps.npy'), (np.arange(3 * 64 * 64) % 7).reshape(3, 64, 64).astype(np.int64))
np.save(os.path.join(d, 'cats.npy'), np.eye(7, dtype=np.float32)[[1, 2, 3]])
np.save(os.path.join(d, 'two.npy'), np.zeros((2, 6), dtype=np.float32))
np.save(os.path.join(d, 'bad-maps.npy'), np.full((3, 64, 64), 2.5, dtype=np.float32))`,
    [dir],
  );
  writeFileSync(join(dir, 'caps.txt'), Array.from({ length: 15 }, (_, j) => `caption ${j} of image ${Math.floor(j / 5)}`).join('\n') + '\n');
  writeFileSync(join(dir, 'four-caps.txt'), 'a\nb\nc\nd\n');
}

describe('shnet data wrap: your own arrays as a precomp split', function () {
  this.timeout(60_000);
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-wrap-'));
    writeArrays(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('wraps one vector per image without captions into an images-only split the precomp data set reads', async () => {
    const out = join(dir, 'clip');
    const result = shnet(['data', 'wrap', '--out', out, '--split', 'gallery', '--features', join(dir, 'clip.npy')]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(
      result.stdout,
      `gallery: 3 images, 1 regions of 6 features, no segmentation, images only → ${out}\nread it with the data node {type: precomp, args: {root: ${out}, segmentation: false}}\n`,
    );
    assert.deepEqual(readdirSync(out), ['gallery_ims.npy']);
    const dataset = new PrecompDataset({ root: out, segmentation: false });
    assert.deepEqual(dataset.splits, ['gallery']);
    assert.equal(dataset.info.featureDim, 6);
    const split = await dataset.open('gallery');
    assert.equal(split.numImages, 3);
    assert.deepEqual(split.captions(), []);
    const batch = await split.loadImages([2]);
    assert.deepEqual(batch.regions!.shape, [1, 1, 6]);
    assert.deepEqual(
      Array.from(batch.regions!.data),
      [12, 13, 14, 15, 16, 17].map((v) => Math.fround(v / 10)),
    );
    await split.close();
  });

  it('wraps region features, captions and the segmentation arrays into a full split', async () => {
    const out = join(dir, 'full');
    const args = ['--features', join(dir, 'regions.npy'), '--captions', join(dir, 'caps.txt')];
    const seg = ['--segmentations', join(dir, 'grid.npy'), '--seg-maps', join(dir, 'maps.npy'), '--categories', join(dir, 'cats.npy')];
    const result = shnet(['data', 'wrap', '--out', out, '--split', 'test', ...args, ...seg]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^test: 3 images, 4 regions of 5 features, 7 classes, 5 captions each → /);
    assert.match(result.stdout, new RegExp(`data node \\{type: precomp, args: \\{root: ${out}\\}\\}`));
    const dataset = new PrecompDataset({ root: out, segmentation: true });
    assert.deepEqual(dataset.info, { numClasses: 7, featureDim: 5, regionsPerImage: 4, mapSize: 64, gridSize: 7 });
    const split = await dataset.open('test');
    assert.equal(split.captions()[6], 'caption 6 of image 1');
    const batch = await split.loadImages([1]);
    assert.equal(batch.regions!.data[0], 20);
    assert.equal(batch.segmentation!.labelMap.data[1], (4096 + 1) % 7);
    assert.deepEqual(Array.from(batch.segmentation!.categories.data), [0, 0, 1, 0, 0, 0, 0]);
    await split.close();

    // A second split in the same folder is added beside the first; the same split again is refused.
    const again = shnet(['data', 'wrap', '--out', out, '--split', 'test', ...args, ...seg]);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /test_caps\.txt exists: split 'test' is already in /);
  });

  it('refuses arrays that disagree, with one line naming the file (exit 2), and writes no split', () => {
    const out = join(dir, 'refused');
    const cases: Array<[string[], RegExp]> = [
      [
        ['--features', join(dir, 'clip.npy'), '--captions', join(dir, 'four-caps.txt')],
        /four-caps\.txt: 4 captions for 3 images; the precomp layout has five per image/,
      ],
      [['--features', join(dir, 'clip.npy'), '--segmentations', join(dir, 'grid.npy')], /--segmentations, --seg-maps and --categories go together/],
      [
        [
          '--features',
          join(dir, 'two.npy'),
          '--segmentations',
          join(dir, 'grid.npy'),
          '--seg-maps',
          join(dir, 'maps.npy'),
          '--categories',
          join(dir, 'cats.npy'),
        ],
        /grid\.npy: 3 images, the features have 2/,
      ],
      [
        [
          '--features',
          join(dir, 'clip.npy'),
          '--segmentations',
          join(dir, 'grid.npy'),
          '--seg-maps',
          join(dir, 'bad-maps.npy'),
          '--categories',
          join(dir, 'cats.npy'),
        ],
        /bad-maps\.npy: row 0 holds 2\.5, not a class id 0–255/,
      ],
      [['--features', join(dir, 'nowhere.npy')], /nowhere\.npy: no such file \(--features\)/],
    ];
    for (const [args, message] of cases) {
      const result = shnet(['data', 'wrap', '--out', out, '--split', 'x', ...args]);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(hasStackTrace(result.stderr), false, result.stderr);
    }
    assert.deepEqual(existsSync(out) ? readdirSync(out) : [], [], 'nothing of a refused split is left');
  });
});

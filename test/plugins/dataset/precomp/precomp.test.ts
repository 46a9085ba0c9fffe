import { strict as assert } from 'node:assert';
import { mkdtempSync, truncateSync, writeFileSync, statSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../../core/errors';
import { precompFacts } from '../../../../plugins/dataset/precomp/facts';
import { PrecompDataset } from '../../../../plugins/dataset/precomp/plugin';
import { runPython } from '../../../support/python-env';

/** Writes a tiny precomp folder with numpy: N images, R regions of width F, C classes, 7×7 grids, 64×64 maps. */
function writeFixture(dir: string, split: string, n: number, options: { perImage?: boolean } = {}): void {
  const captions = Array.from({ length: 5 * n }, (_, j) => `caption ${j} of image ${Math.floor(j / 5)}`);
  writeFileSync(join(dir, `${split}_caps.txt`), `${captions.join('\n')}\n`);
  runPython(
    `
import numpy as np, sys, os
d, split, n, per_image = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == '1'
ims = (np.arange(n * 4 * 8, dtype=np.float32).reshape(n, 4, 8) / 10).astype(np.float32)
if per_image:
    os.makedirs(os.path.join(d, 'features'), exist_ok=True)
    for i in range(n):
        np.save(os.path.join(d, 'features', f'{1000 + i}.npy'), ims[i])
    open(os.path.join(d, f'{split}_ids.txt'), 'w').write(''.join(f'{1000 + i}\\n' for i in range(n)))
else:
    np.save(os.path.join(d, f'{split}_ims.npy'), ims)
np.save(os.path.join(d, f'{split}_segmentations.npy'), np.full((n, 5, 7, 7), 0.2, dtype=np.float32))
np.save(os.path.join(d, f'{split}_seg_maps.npy'), (np.arange(n * 64 * 64) % 5).reshape(n, 64, 64).astype(np.int64))
np.save(os.path.join(d, f'{split}_cat_onehots.npy'), np.eye(5, dtype=np.float64)[np.arange(n) % 5])
`,
    [dir, split, String(n), options.perImage ? '1' : '0'],
  );
}

describe('precomp dataset (files written by numpy)', () => {
  it('reads shapes from headers and rows by positioned reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-precomp-'));
    writeFixture(dir, 'test', 3);
    const dataset = new PrecompDataset({ root: dir, segmentation: true });
    assert.deepEqual(dataset.info, { numClasses: 5, featureDim: 8, regionsPerImage: 4, mapSize: 64, gridSize: 7 });
    assert.deepEqual(dataset.splits, ['test']);
    const split = await dataset.open('test');
    assert.equal(split.numImages, 3);
    assert.equal(split.captions()[7], 'caption 7 of image 1');
    const batch = await split.loadImages([2, 0]);
    assert.deepEqual(batch.regions!.shape, [2, 4, 8]);
    assert.equal(batch.regions!.data[0], Math.fround((2 * 32) / 10), 'row 2 first');
    assert.ok(Math.abs(batch.regions!.data[32 + 31] - 3.1) < 1e-6, 'then row 0');
    assert.deepEqual([...batch.regionLengths!], [4, 4]);
    assert.deepEqual([...batch.segmentation!.categories.data.slice(0, 5)], [0, 0, 1, 0, 0], 'int64/float64 converted');
    assert.equal(batch.segmentation!.labelMap.data[1], (2 * 4096 + 1) % 5);
    await split.close();
  });

  it('reads one <id>.npy per image (COCO layout) through ids.txt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-precomp-'));
    writeFixture(dir, 'train', 2, { perImage: true });
    const dataset = new PrecompDataset({ root: dir, featureDir: join(dir, 'features'), segmentation: true });
    const split = await dataset.open('train');
    const batch = await split.loadImages([1]);
    assert.equal(batch.regions!.data[0], Math.fround(3.2));
  });

  /** A folder with dev, test and train splits of two images each, then `corrupt` applied to it. */
  const corrupted = (corrupt: (dir: string) => void): string => {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-precomp-'));
    for (const split of ['dev', 'test', 'train']) writeFixture(dir, split, 2);
    corrupt(dir);
    return dir;
  };
  const captionsOf = (lines: string[]) => `${lines.join('\n')}\n`;
  const tenCaptions = Array.from({ length: 10 }, (_, i) => `caption ${i}`);

  const broken: Array<[string, (dir: string) => void, RegExp]> = [
    [
      '11 captions for 2 images',
      (d) => writeFileSync(join(d, 'dev_caps.txt'), captionsOf(Array(11).fill('x'))),
      /dev_caps\.txt: 11 captions, expected 5 per image/,
    ],
    [
      'a truncated feature file in the test split',
      (d) => truncateSync(join(d, 'test_ims.npy'), statSync(join(d, 'test_ims.npy')).size - 4),
      /test_ims\.npy: .*truncated/,
    ],
    [
      'categories for 3 images instead of 2',
      (d) => runPython(`import numpy as np, sys; np.save(sys.argv[1], np.zeros((3, 5), dtype=np.float32))`, [join(d, 'train_cat_onehots.npy')]),
      /train_cat_onehots\.npy: 3 images, but .*train_ims\.npy has 2/,
    ],
    [
      'a split whose regions differ from the others',
      (d) => runPython(`import numpy as np, sys; np.save(sys.argv[1], np.zeros((2, 6, 8), dtype=np.float32))`, [join(d, 'train_ims.npy')]),
      /split 'train' has regions 6, split 'dev' has 4: every split must agree/,
    ],
    [
      'captions that are not UTF-8',
      (d) => writeFileSync(join(d, 'test_caps.txt'), Buffer.concat([Buffer.from(captionsOf(tenCaptions.slice(0, 3))), Buffer.from([0xc3, 0x28, 0x0a])])),
      /test_caps\.txt:4: not UTF-8 text/,
    ],
    [
      'a caption with a NUL byte',
      (d) => writeFileSync(join(d, 'test_caps.txt'), captionsOf(tenCaptions.map((c, i) => (i === 6 ? `${c}\0` : c)))),
      /test_caps\.txt:7: the caption holds a NUL byte/,
    ],
    [
      'an empty line among the captions',
      (d) => writeFileSync(join(d, 'dev_caps.txt'), captionsOf(tenCaptions.map((c, i) => (i === 2 ? '' : c)))),
      /dev_caps\.txt:3: empty caption/,
    ],
    [
      'a 10 MB caption',
      (d) => writeFileSync(join(d, 'train_caps.txt'), captionsOf(tenCaptions.map((c, i) => (i === 9 ? 'word '.repeat(2_000_000) : c)))),
      /train_caps\.txt:10: a caption of 10,000,000 characters/,
    ],
  ];
  for (const [what, corrupt, message] of broken) {
    it(`refuses, when the data set is built, ${what}, naming the file`, () => {
      const dir = corrupted(corrupt);
      assert.throws(
        () => new PrecompDataset({ root: dir, segmentation: true }),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
      );
    });
  }

  it('refuses a row read with non-finite features or a label outside the classes, naming the file and the image', async () => {
    const dir = corrupted((d) =>
      runPython(
        `
import numpy as np, sys, os
d = sys.argv[1]
ims = np.load(os.path.join(d, 'test_ims.npy')); ims[1] = np.nan; np.save(os.path.join(d, 'test_ims.npy'), ims)
maps = np.load(os.path.join(d, 'dev_seg_maps.npy')); maps[0, 3, 3] = 5; np.save(os.path.join(d, 'dev_seg_maps.npy'), maps)
`,
        [d],
      ),
    );
    const dataset = new PrecompDataset({ root: dir, segmentation: true });
    const test = await dataset.open('test');
    await test.loadImages([0]);
    await assert.rejects(test.loadImages([0, 1]), /test_ims\.npy: image 1 \(row 1 of split 'test'\) has non-finite region features \(NaN\)/);
    const dev = await dataset.open('dev');
    await assert.rejects(dev.loadImages([0]), /dev_seg_maps\.npy: image 0 .* holds class 5, outside the 5 classes of .*dev_segmentations\.npy \(0\.\.4\)/);
  });

  it('tells validation its splits and shapes from the headers alone, and nothing when the data is not here', () => {
    const dir = corrupted(() => undefined);
    assert.deepEqual(precompFacts({ root: dir, segmentation: true }), {
      info: { numClasses: 5, featureDim: 8, regionsPerImage: 4, mapSize: 64, gridSize: 7 },
      segmentation: true,
      splits: { dev: { images: 2 }, test: { images: 2 }, train: { images: 2 } },
    });
    assert.equal(precompFacts({ root: join(dir, 'elsewhere'), segmentation: true }), undefined);
  });

  it('explains a missing data root and a missing feature file', () => {
    assert.throws(() => new PrecompDataset({ root: '/nonexistent/precomp', segmentation: true }), /data root \/nonexistent\/precomp does not exist/);
    const dir = mkdtempSync(join(tmpdir(), 'shnet-precomp-'));
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'train_caps.txt'), 'a\nb\nc\nd\ne\n');
    assert.throws(() => new PrecompDataset({ root: dir, segmentation: true }), /no region features: expected .*train_ims\.npy/);
  });
});

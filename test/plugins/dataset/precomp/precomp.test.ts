import { strict as assert } from 'node:assert';
import { mkdtempSync, truncateSync, writeFileSync, statSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('names the file when captions, shapes or lengths disagree', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-precomp-'));
    writeFixture(dir, 'dev', 2);
    writeFixture(dir, 'test', 2);
    writeFixture(dir, 'train', 2);
    // dev: 11 captions for 2 images
    writeFileSync(join(dir, 'dev_caps.txt'), Array.from({ length: 11 }, () => 'x').join('\n'));
    // test: a truncated feature file
    const ims = join(dir, 'test_ims.npy');
    truncateSync(ims, statSync(ims).size - 4);
    // train: categories for 3 images instead of 2
    runPython(`import numpy as np, sys; np.save(sys.argv[1], np.zeros((3, 5), dtype=np.float32))`, [join(dir, 'train_cat_onehots.npy')]);
    const dataset = new PrecompDataset({ root: join(dir), segmentation: false });
    const withSeg = () => new PrecompDataset({ root: dir, segmentation: true });
    await assert.rejects(dataset.open('dev'), /dev_caps\.txt: 11 captions, expected 5 per image/);
    await assert.rejects(dataset.open('test'), /test_ims\.npy: .*(truncated|bytes)/);
    await assert.rejects(withSeg().open('train'), /train_cat_onehots\.npy: .*axis 0/);
    await assert.rejects(dataset.open('val'), /split 'val' not in .* \(splits: dev, test, train\)/);
  });

  it('explains a missing data root and a missing feature file', () => {
    assert.throws(() => new PrecompDataset({ root: '/nonexistent/precomp', segmentation: true }), /data root \/nonexistent\/precomp does not exist/);
    const dir = mkdtempSync(join(tmpdir(), 'shnet-precomp-'));
    mkdirSync(join(dir, 'x'));
    writeFileSync(join(dir, 'train_caps.txt'), 'a\nb\nc\nd\ne\n');
    assert.throws(() => new PrecompDataset({ root: dir, segmentation: true }), /no region features: expected .*train_ims\.npy/);
  });
});

import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrecompDataset } from '../../../../plugins/dataset/precomp/plugin';
import { ShapesDataset, resolveShapesOptions } from '../../../../plugins/dataset/shapes';
import { shnet } from '../../../support/cli';

describe('precomp reader end to end: `shnet data export` of shapes, read back', () => {
  it('reads exactly the records and captions the shapes data set produces', async () => {
    const out = mkdtempSync(join(tmpdir(), 'shnet-export-'));
    const exported = shnet(['data', 'export', '--dataset', 'shapes', '--out', out, '--splits', 'dev', '--seed', '3', '--dev-size', '12']);
    assert.equal(exported.status, 0, exported.stderr);

    const shapes = new ShapesDataset(resolveShapesOptions({ seed: 3, devSize: 12 }));
    const precomp = new PrecompDataset({ root: out, segmentation: true });
    const { imageSize: _pixelsOnly, ...shapesInfo } = shapes.info;
    assert.deepEqual(precomp.info, shapesInfo, 'the precomp layout has no pixels, everything else agrees');
    const [a, b] = [await shapes.open('dev'), await precomp.open('dev')];
    assert.deepEqual(b.captions(), a.captions());
    const indices = [11, 0, 5];
    const [fromShapes, fromFiles] = [await a.loadImages(indices), await b.loadImages(indices)];
    assert.deepEqual([...fromFiles.regions!.data], [...fromShapes.regions!.data]);
    assert.deepEqual(fromFiles.regions!.shape, fromShapes.regions!.shape);
    for (const key of ['classGrid', 'labelMap', 'categories'] as const) {
      assert.deepEqual([...fromFiles.segmentation![key].data], [...fromShapes.segmentation![key].data], key);
    }
  });
});

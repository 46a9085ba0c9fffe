import { strict as assert } from 'node:assert';
import type { HostImages } from '../../../core/contracts/data';
import type { DatasetSplit } from '../../../core/contracts/dataset';
import { createRng } from '../../../core/services/rng';
import { batchesOf, captionBatchLoader, epochOrder, prefetchBatches } from '../../../core/train/sampler';
import { ShapesDataset } from '../../../plugins/dataset/shapes/plugin';
import { shapesOptions } from '../../../plugins/dataset/shapes/options';
import { Value } from '@sinclair/typebox/value';

describe('sampler', () => {
  it('shuffles all captions once per epoch, reproducibly from the seed, differently per epoch', () => {
    const a = epochOrder(50, createRng(3), 0);
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(epochOrder(50, createRng(3), 0), a);
    const drawn = createRng(3);
    drawn.next();
    assert.deepEqual(epochOrder(50, drawn, 0), a, 'the order depends on the seed, not on how much the run stream was drawn');
    assert.notDeepEqual(epochOrder(50, createRng(3), 1), a);
    assert.notDeepEqual(epochOrder(50, createRng(4), 0), a);
  });

  it('drops the incomplete last batch', () => {
    const batches = batchesOf(
      Int32Array.from({ length: 23 }, (_, i) => i),
      5,
    );
    assert.equal(batches.length, 4);
    assert.deepEqual(batches[3], [15, 16, 17, 18, 19]);
  });

  it('requests the next batch before handing over the current one, with the images of the captions', async () => {
    const dataset = new ShapesDataset({ ...Value.Create(shapesOptions), trainSize: 6, imageSize: 16 });
    const real = await dataset.open('train');
    const requests: number[][] = [];
    const split: DatasetSplit = {
      name: real.name,
      numImages: real.numImages,
      captions: () => real.captions(),
      loadImages: (indices): Promise<HostImages> => {
        requests.push([...indices]);
        return real.loadImages(indices);
      },
      close: () => real.close(),
    };
    const batches = [
      [0, 7, 29],
      [12, 13, 5],
    ];
    const seen: number[] = [];
    for await (const batch of prefetchBatches(batches, captionBatchLoader(split))) {
      seen.push(requests.length);
      assert.deepEqual(
        batch.images.indices,
        batch.captionIndices.map((c) => Math.floor(c / 5)),
      );
      assert.deepEqual(
        batch.captions,
        batch.captionIndices.map((c) => real.captions()[c]),
      );
    }
    assert.deepEqual(requests, [
      [0, 1, 5],
      [2, 2, 1],
    ]);
    assert.deepEqual(seen, [2, 2], 'batch 2 was requested before batch 1 was consumed');
  });
});

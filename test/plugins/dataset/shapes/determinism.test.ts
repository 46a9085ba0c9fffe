import { strict as assert } from 'node:assert';
import type { HostImages } from '../../../../core/contracts/data';
import { resolveShapesOptions } from '../../../../plugins/dataset/shapes/options';
import { ShapesDataset } from '../../../../plugins/dataset/shapes/plugin';
import { KeyedRandom } from '../../../../plugins/dataset/shapes/random';

const N = 24;
const all = Array.from({ length: N }, (_, i) => i);

/** Every array of a HostImages record as raw bytes, by field name. */
function bytesOf(images: HostImages): Record<string, Buffer> {
  const arrays = {
    regions: images.regions!.data,
    regionLengths: images.regionLengths!,
    pixels: images.pixels!.data,
    boxes: images.boxes!.data,
    classGrid: images.segmentation!.classGrid.data,
    labelMap: images.segmentation!.labelMap.data,
    categories: images.segmentation!.categories.data,
  };
  return Object.fromEntries(Object.entries(arrays).map(([name, a]) => [name, Buffer.from(a.buffer, a.byteOffset, a.byteLength)]));
}

async function load(options: Record<string, unknown>, indices: readonly number[], split = 'train') {
  const dataset = new ShapesDataset(resolveShapesOptions({ trainSize: N, devSize: N, testSize: N, ...options }));
  const opened = await dataset.open(split);
  return { captions: opened.captions(), images: bytesOf(await opened.loadImages(indices)) };
}

describe('shapes determinism', () => {
  it('gives byte-identical records and captions for the same seed', async () => {
    const first = await load({ seed: 5 }, all);
    const second = await load({ seed: 5 }, all);
    assert.deepEqual(second.captions, first.captions);
    for (const name of Object.keys(first.images)) assert.ok(first.images[name].equals(second.images[name]), name);
  });

  it('gives image i the same bytes whatever order images are generated in', async () => {
    const inOrder = await load({ seed: 5 }, all);
    const dataset = new ShapesDataset(resolveShapesOptions({ seed: 5, trainSize: N }));
    const split = await dataset.open('train');
    const shuffled = new KeyedRandom(99).shuffled(all);
    for (const i of shuffled) await split.loadImages([i]); // generate one by one, in a scrambled order
    const again = bytesOf(await split.loadImages(all));
    for (const name of Object.keys(again)) assert.ok(again[name].equals(inOrder.images[name]), name);
    // A batch in another order holds the same rows, permuted.
    const reversed = await split.loadImages([...all].reverse());
    const width = 64 * 64;
    const maps = reversed.segmentation!.labelMap.data;
    const ordered = (await split.loadImages(all)).segmentation!.labelMap.data;
    for (let row = 0; row < N; row++) {
      const mirrored = ordered.subarray((N - 1 - row) * width, (N - row) * width);
      assert.deepEqual(maps.subarray(row * width, (row + 1) * width), mirrored);
    }
  });

  it('keeps image i the same when the split size changes', async () => {
    const small = await load({ seed: 5, trainSize: 11 }, [0, 1, 2, 10]);
    const large = await load({ seed: 5, trainSize: 40 }, [0, 1, 2, 10]);
    for (const name of Object.keys(small.images)) assert.ok(small.images[name].equals(large.images[name]), name);
    assert.deepEqual(small.captions, large.captions.slice(0, 55));
  });

  it('differs between seeds and between splits', async () => {
    const a = await load({ seed: 5 }, all);
    const b = await load({ seed: 6 }, all);
    const dev = await load({ seed: 5 }, all, 'dev');
    for (const other of [b, dev]) {
      assert.notDeepEqual(other.captions, a.captions);
      assert.ok(!other.images.pixels.equals(a.images.pixels));
      assert.ok(!other.images.labelMap.equals(a.images.labelMap));
    }
  });
});

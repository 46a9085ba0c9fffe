import { strict as assert } from 'node:assert';
import { Container } from 'inversify';
import type { Dataset } from '../../../../core/contracts/dataset';
import { UsageError } from '../../../../core/errors';
import { PluginRegistry } from '../../../../core/registry/registry';
import { PLUGIN_ARGS } from '../../../../core/tokens';
import { CLASS_NAMES, shapesCommands, shapesDataset } from '../../../../plugins/dataset/shapes';
import { resolveShapesOptions } from '../../../../plugins/dataset/shapes/options';
import { ShapesDataset } from '../../../../plugins/dataset/shapes/plugin';

/** Builds the plugin the way the builder does: registry-validated args bound to PLUGIN_ARGS, class resolved by DI. */
function build(args: Record<string, unknown>): Dataset {
  const registry = new PluginRegistry();
  registry.addManifest({ name: 'shapes', plugins: [shapesDataset], commands: shapesCommands });
  const registered = registry.get('dataset', 'shapes');
  const validated = structuredClone(args);
  assert.ok(registered.validate(validated), JSON.stringify(registered.validate.errors));
  const container = new Container();
  container.bind(PLUGIN_ARGS).toConstantValue(validated);
  container.bind(ShapesDataset).toSelf();
  return container.get(ShapesDataset);
}

describe('shapes dataset plugin', () => {
  it('registers as dataset/shapes with defaults filled by the registry', () => {
    const dataset = build({ trainSize: 12, devSize: 4, testSize: 4 });
    const info = { numClasses: 7, featureDim: 64, regionsPerImage: 6, imageSize: 64, mapSize: 64, gridSize: 7 };
    assert.deepEqual(dataset.info, info);
    assert.deepEqual(dataset.splits, ['train', 'dev', 'test']);
    assert.deepEqual(CLASS_NAMES, ['background', 'circle', 'square', 'triangle', 'star', 'cross', 'ring']);
    assert.deepEqual(
      shapesCommands.map((c) => c.name),
      ['data export', 'data show'],
    );
  });

  it('opens splits of the configured sizes with 5 captions per image', async () => {
    const dataset = build({ trainSize: 12, devSize: 4, testSize: 3 });
    for (const [name, n] of [
      ['train', 12],
      ['dev', 4],
      ['test', 3],
    ] as const) {
      const split = await dataset.open(name);
      assert.equal(split.name, name);
      assert.equal(split.numImages, n);
      assert.equal(split.captions().length, 5 * n);
    }
    await assert.rejects(dataset.open('testall'), (e: Error) => e instanceof UsageError && /splits: train, dev, test/.test(e.message));
  });

  it('loads records with the documented shapes and ranges', async () => {
    const dataset = build({ trainSize: 12, imageSize: 48, regionsPerImage: 5, featureDim: 60 });
    const split = await dataset.open('train');
    const images = await split.loadImages([3, 0, 7]);
    assert.deepEqual(images.indices, [3, 0, 7]);
    assert.deepEqual(images.regions!.shape, [3, 5, 60]);
    assert.deepEqual([...images.regionLengths!], [5, 5, 5]);
    assert.deepEqual(images.pixels!.shape, [3, 48, 48, 3]);
    assert.deepEqual(images.boxes!.shape, [3, 5, 4]);
    const seg = images.segmentation!;
    assert.deepEqual(seg.classGrid.shape, [3, 7, 7, 7]);
    assert.deepEqual(seg.labelMap.shape, [3, 64, 64]);
    assert.deepEqual(seg.categories.shape, [3, 7]);
    assert.ok(images.pixels!.data.every((v) => v >= 0 && v <= 1));
    assert.ok(seg.labelMap.data.every((v) => Number.isInteger(v) && v >= 0 && v < 7));
    const boxes = images.boxes!.data;
    for (let k = 0; k < boxes.length; k += 4) {
      assert.ok(boxes[k] >= 0 && boxes[k + 2] <= 1 && boxes[k] < boxes[k + 2], `box ${k / 4}`);
      assert.ok(boxes[k + 1] >= 0 && boxes[k + 3] <= 1 && boxes[k + 1] < boxes[k + 3], `box ${k / 4}`);
    }
    // Descriptor columns past the 53 hand-crafted values are zero padding.
    const regions = images.regions!.data;
    for (let r = 0; r < 15; r++) assert.ok(regions.subarray(r * 60 + 53, (r + 1) * 60).every((v) => v === 0));
    await assert.rejects(split.loadImages([12]), RangeError);
  });

  it('describes what is in a box but not where it is, unless regionPosition is set', async () => {
    // In a hard-negative pair the objects are the same and only their positions differ.
    const options = { seed: 4, trainSize: 20, hardNegativeFraction: 1 };
    const indices = Array.from({ length: 20 }, (_, i) => i);
    const plain = await (await build(options).open('train')).loadImages(indices);
    const placed = await (await build({ ...options, regionPosition: true }).open('train')).loadImages(indices);
    type Images = typeof plain;
    const row = (images: Images, image: number, k: number) => images.regions!.data.subarray((image * 6 + k) * 64, (image * 6 + k) * 64 + 53);
    const colourShape = (image: number, k: number) => [...row(plain, image, k).subarray(0, 47)];
    const position = (images: Images, image: number, k: number) => [...row(images, image, k).subarray(51, 53)];
    assert.deepEqual(position(plain, 0, 0), [0, 0]);
    assert.notDeepEqual(position(placed, 0, 0), position(placed, 1, 0));
    // An object seen in both layouts of a pair is much closer to itself than to another object of its image: colour
    // and shape statistics barely move with position (colour jitter, noise and sub-pixel rasterisation differ).
    const distance = (x: number[], y: number[]) => x.reduce((sum, v, j) => sum + Math.abs(v - y[j]), 0);
    let same = 0;
    let other = 0;
    for (let pair = 0; pair < 10; pair++) {
      same += distance(colourShape(2 * pair, 0), colourShape(2 * pair + 1, 0));
      other += distance(colourShape(2 * pair, 0), colourShape(2 * pair, 1));
    }
    assert.ok(same < other / 3, `same object ${same / 10}, other object ${other / 10}`);
  });

  it('rejects inconsistent options with a usage error', () => {
    assert.throws(() => resolveShapesOptions({ minObjects: 4, maxObjects: 3 }), UsageError);
    assert.throws(() => resolveShapesOptions({ featureDim: 52 }), /featureDim/);
    assert.throws(() => resolveShapesOptions({ imageSize: 64.5 }), UsageError);
    assert.throws(() => resolveShapesOptions({ colour: 'red' }), /colour: unknown option/);
    const tooFewRegions = { ...resolveShapesOptions({}), maxObjects: 4, regionsPerImage: 3 };
    assert.throws(() => new ShapesDataset(tooFewRegions), /regionsPerImage/);
  });
});

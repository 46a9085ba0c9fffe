import { strict as assert } from 'node:assert';
import { SplitGenerator } from '../../../../plugins/dataset/shapes/generator';
import { resolveShapesOptions } from '../../../../plugins/dataset/shapes/options';
import { ShapesDataset } from '../../../../plugins/dataset/shapes/plugin';
import type { SceneObject } from '../../../../plugins/dataset/shapes/scene';
import { parseCaption, statementHolds } from './grammar';

const objectSet = (objects: readonly SceneObject[]) => objects.map((o) => `${o.size} ${o.colour} ${o.shape}`).sort();
const layout = (objects: readonly SceneObject[]) => objects.map((o) => `${o.colour} ${o.shape} @ ${o.cx},${o.cy}`).sort();

describe('shapes hard negatives', () => {
  const options = resolveShapesOptions({ seed: 11, trainSize: 121, hardNegativeFraction: 1 });
  const generator = new SplitGenerator(options, 'train');

  it('pairs image 2g with 2g+1, both ways (the odd last image with one just past the split)', () => {
    for (let i = 0; i <= 120; i++) assert.equal(generator.scene(i).partner, i ^ 1);
  });

  it('gives a pair identical object sets and the same positions, assigned differently', () => {
    for (let g = 0; g < 60; g++) {
      const [a, b] = [generator.scene(2 * g).objects, generator.scene(2 * g + 1).objects];
      assert.deepEqual(objectSet(a), objectSet(b));
      const centres = (objects: readonly SceneObject[]) => objects.map((o) => `${o.cx},${o.cy}`).sort();
      assert.deepEqual(centres(a), centres(b));
      assert.notDeepEqual(layout(a), layout(b));
    }
  });

  it('gives a pair different label maps', async () => {
    const split = await new ShapesDataset(options).open('train');
    const images = await split.loadImages(Array.from({ length: 40 }, (_, i) => i));
    const maps = images.segmentation!.labelMap.data;
    const size = 64 * 64;
    for (let g = 0; g < 20; g++) {
      const a = maps.subarray(2 * g * size, (2 * g + 1) * size);
      const b = maps.subarray((2 * g + 1) * size, (2 * g + 2) * size);
      assert.ok(
        a.some((v, p) => v !== b[p]),
        `pair ${g} has identical label maps`,
      );
    }
  });

  it("makes every caption's first relation false in the partner image", () => {
    for (let i = 0; i <= 120; i++) {
      const partner = generator.scene(i ^ 1);
      for (const caption of generator.captions(i)) {
        const [first] = parseCaption(caption).statements;
        const fits = statementHolds(first, partner.objects, options.imageSize);
        assert.ok(!fits, `image ${i}: '${caption}' fits its partner`);
      }
    }
  });

  it('makes about hardNegativeFraction of the images members of pairs', () => {
    const count = (fraction: number) => {
      const options = resolveShapesOptions({ seed: 2, trainSize: 600, hardNegativeFraction: fraction });
      const g = new SplitGenerator(options, 'train');
      return Array.from({ length: 600 }, (_, i) => g.scene(i)).filter((s) => s.partner !== null).length;
    };
    assert.equal(count(0), 0);
    assert.equal(count(1), 600);
    const half = count(0.5) / 600;
    assert.ok(half > 0.4 && half < 0.6, `fraction ${half}`);
  });
});

import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { decodePng } from '../../../../core/io/png';
import { UsageError } from '../../../../core/errors';
import { shapesCommands } from '../../../../plugins/dataset/shapes';
import { countNamedObjects } from '../../../../plugins/dataset/shapes/captions';
import { resolveShapesOptions } from '../../../../plugins/dataset/shapes/options';
import { ShapesDataset } from '../../../../plugins/dataset/shapes/plugin';
import { OVERLAY_COLOURS } from '../../../../plugins/dataset/shapes/render';
import type { ShapesSplit } from '../../../../plugins/dataset/shapes/split';
import { CLASS_NAMES } from '../../../../plugins/dataset/shapes/vocabulary';
import { parseCaption } from './grammar';

describe('shapes pictures and caption facets', () => {
  const options = resolveShapesOptions({ seed: 5, trainSize: 4, devSize: 4, testSize: 40, imageSize: 32 });
  let split: ShapesSplit;
  before(async () => {
    split = await new ShapesDataset(options).open('test');
  });

  it('renders the pixels the model reads, magnified without smoothing', async () => {
    const host = await split.loadImages([7]);
    const plain = decodePng(await split.renderImage(7, { scale: 1 }), 'test/7');
    assert.deepEqual([plain.width, plain.height], [32, 32]);
    assert.deepEqual(
      Array.from(plain.rgb),
      Array.from(host.pixels!.data, (v) => Math.round(v * 255)),
    );
    const big = decodePng(await split.renderImage(7), 'test/7');
    assert.equal(big.width, 256, 'about 256 pixels wide by default');
    for (const [x, y] of [
      [0, 0],
      [13, 21],
      [31, 31],
    ]) {
      const at = (image: typeof big, u: number, v: number) => Array.from(image.rgb.subarray(3 * (v * image.width + u), 3 * (v * image.width + u) + 3));
      assert.deepEqual(at(big, 8 * x + 7, 8 * y + 3), at(plain, x, y));
    }
    await assert.rejects(split.renderImage(40), /image index 40 is outside 0\.\.39/);
    await assert.rejects(split.renderImage(1, { scale: 0 }), /scale must be an integer in 1\.\.32/);
  });

  it('draws the ground-truth segmentation over the pixels: class colours on object outlines, background untouched', async () => {
    const plain = decodePng(await split.renderImage(7, { scale: 2 }), 'plain');
    const overlaid = decodePng(await split.renderImage(7, { scale: 2, overlay: true }), 'overlay');
    const host = await split.loadImages([7]);
    const labels = host.segmentation!.labelMap.data; // 64×64 = the 32-pixel image at scale 2, nearest neighbour
    const classesDrawn = new Set<number>();
    let background = 0;
    for (let p = 0; p < 64 * 64; p++) {
      const colour = Array.from(overlaid.rgb.subarray(3 * p, 3 * p + 3));
      const original = Array.from(plain.rgb.subarray(3 * p, 3 * p + 3));
      const cls = labels[p];
      const x = p % 64;
      const y = Math.floor(p / 64);
      const neighbours = [
        [x - 1, y],
        [x + 1, y],
        [x, y - 1],
        [x, y + 1],
      ].filter(([u, v]) => u >= 0 && u < 64 && v >= 0 && v < 64);
      const edge = neighbours.some(([u, v]) => labels[v * 64 + u] !== cls);
      if (cls === 0 && !edge) {
        assert.deepEqual(colour, original, `background pixel ${x},${y}`);
        background++;
      } else if (cls !== 0 && edge) {
        assert.deepEqual(colour, [...OVERLAY_COLOURS[cls]], `outline of ${CLASS_NAMES[cls]} at ${x},${y}`);
        classesDrawn.add(cls);
      }
    }
    assert.ok(background > 1000);
    const objects = new Set(split.scene(7).objects.map((o) => CLASS_NAMES.indexOf(o.shape)));
    assert.deepEqual([...classesDrawn].sort(), [...objects].sort());
  });

  it('labels every caption with the objects of its image, the objects it names, and whether its image has a layout twin', () => {
    const facets = new Map(split.captionFacets().map((f) => [f.name, f.labels]));
    const captions = split.captions();
    for (const labels of facets.values()) assert.equal(labels.length, 200);
    for (let j = 0; j < captions.length; j++) {
      const scene = split.scene(Math.floor(j / 5));
      assert.equal(facets.get('objects in the image')![j], String(scene.objects.length));
      assert.equal(facets.get('image has a layout twin (hard negative)')![j], scene.partner === null ? 'no' : 'yes');
      // The template grammar of the caption tests: two statements name three objects, one names two.
      assert.equal(facets.get('objects named in the caption')![j], String(parseCaption(captions[j]).statements.length + 1), captions[j]);
    }
    assert.deepEqual(new Set(facets.get('objects named in the caption')), new Set(['2', '3']));
    assert.equal(countNamedObjects('a picture of a big red circle left of a square'), 1, 'only full mentions count');
  });

  it('runs as `shnet data show`: writes the PNG, prints the objects and captions, refuses an image outside the split', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-show-'));
    try {
      const printed: string[] = [];
      const program = new Command('shnet').exitOverride().configureOutput({ writeOut: (s) => printed.push(s) });
      for (const command of shapesCommands) command.register(program);
      const out = join(dir, 'seven.png');
      await program.parseAsync(['data', 'show', '7', '--seed', '5', '--test-size', '40', '--image-size', '32', '--overlay', '--out', out], { from: 'user' });
      const text = printed.join('');
      assert.match(text, /^shapes test\/7 \(seed 5, 32×32 pixels\):$/m);
      for (const caption of split.captions().slice(35, 40)) assert.ok(text.includes(`  ${caption}\n`), caption);
      assert.match(text, /^overlay: /m);
      assert.ok(text.endsWith(`wrote ${out} (256×256 pixels)\n`), text);
      assert.deepEqual(decodePng(readFileSync(out), out).rgb, decodePng(await split.renderImage(7, { overlay: true }), '').rgb);
      const again = new Command('shnet').exitOverride();
      for (const command of shapesCommands) command.register(again);
      await assert.rejects(
        again.parseAsync(['data', 'show', '40', '--test-size', '40', '--out', out], { from: 'user' }),
        (e: Error) => e instanceof UsageError && /image 40 is not in split 'test' \(images 0\.\.39\)/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

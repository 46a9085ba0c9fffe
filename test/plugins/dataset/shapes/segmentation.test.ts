import { strict as assert } from 'node:assert';
import { KeyedRandom } from '../../../../plugins/dataset/shapes/random';
import { rasterise } from '../../../../plugins/dataset/shapes/raster';
import type { Scene } from '../../../../plugins/dataset/shapes/scene';
import { categories, cellBounds, classGrid, resizeLabels } from '../../../../plugins/dataset/shapes/segmentation';
import { NUM_CLASSES, classOf } from '../../../../plugins/dataset/shapes/vocabulary';

/** A label map of side `size` from rows of class ids written as digits. */
function labelMap(rows: readonly string[]): Uint8Array {
  return Uint8Array.from(rows.join('').split('').map(Number));
}

/** Cell of pixel coordinate `t` by search: the k with b_k ≤ t < b_{k+1}. */
function cellOf(t: number, bounds: Int32Array): number {
  for (let k = 0; k + 1 < bounds.length; k++) if (bounds[k] <= t && t < bounds[k + 1]) return k;
  throw new Error(`pixel ${t} is in no cell`);
}

describe('shapes segmentation derivations', () => {
  it('places cell bounds at floor(k·S/g)', () => {
    assert.deepEqual([...cellBounds(64, 7)], [0, 9, 18, 27, 36, 45, 54, 64]);
    assert.deepEqual([...cellBounds(20, 7)], [0, 2, 5, 8, 11, 14, 17, 20]);
    assert.deepEqual([...cellBounds(14, 7)], [0, 2, 4, 6, 8, 10, 12, 14]);
  });

  it('gives the class fractions of each cell of a hand-made 4×4 map on a 2×2 grid', () => {
    const labels = labelMap(['0011', '0211', '3333', '3300']);
    const out = new Float32Array(4 * 2 * 2);
    classGrid(labels, 4, 4, 2, out);
    // [C, g, g]: class 0 is 3/4 of the top-left cell and 2/4 of the bottom-right one, and so on.
    assert.deepEqual([...out], [0.75, 0, 0, 0.5, 0, 1, 0, 0, 0.25, 0, 0, 0, 0, 0, 1, 0.5]);
  });

  it('handles unequal cells exactly (S = 5, g = 2: rows and columns 0–1 and 2–4)', () => {
    const labels = labelMap(['01111', '00111', '22222', '22222', '22211']);
    const out = new Float32Array(3 * 2 * 2);
    classGrid(labels, 5, 3, 2, out);
    const expected = [3 / 4, 0, 0, 0, 1 / 4, 1, 0, 2 / 9, 0, 0, 1, 7 / 9];
    expected.forEach((v, k) => assert.ok(Math.abs(out[k] - v) < 1e-7, `entry ${k}: ${out[k]} vs ${v}`));
  });

  it('on a rendered 64×64 scene: fractions equal pixel counts per cell and sum to 1', () => {
    const scene: Scene = {
      index: 0,
      partner: null,
      objects: [
        { shape: 'ring', colour: 'red', size: 'large', cx: 20.3, cy: 17.8, radius: 10.9 },
        { shape: 'star', colour: 'blue', size: 'small', cx: 47.1, cy: 44.6, radius: 6.4 },
        { shape: 'triangle', colour: 'green', size: 'large', cx: 15, cy: 50, radius: 10.9 },
      ],
    };
    const size = 64;
    const raster = {
      pixels: new Uint8Array(size * size * 3),
      labels: new Uint8Array(size * size),
      instances: new Uint8Array(size * size),
    };
    rasterise(scene, size, 0.05, new KeyedRandom(1), raster);
    const grid = new Float32Array(NUM_CLASSES * 49);
    classGrid(raster.labels, size, NUM_CLASSES, 7, grid);
    const bounds = cellBounds(size, 7);
    const counts = new Float64Array(NUM_CLASSES * 49);
    const areas = new Float64Array(49);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const cell = cellOf(y, bounds) * 7 + cellOf(x, bounds);
        counts[raster.labels[y * size + x] * 49 + cell]++;
        areas[cell]++;
      }
    }
    for (let cell = 0; cell < 49; cell++) {
      let sum = 0;
      for (let c = 0; c < NUM_CLASSES; c++) {
        assert.equal(grid[c * 49 + cell], Math.fround(counts[c * 49 + cell] / areas[cell]));
        sum += grid[c * 49 + cell];
      }
      assert.ok(Math.abs(sum - 1) < 1e-6, `cell ${cell} sums to ${sum}`);
    }
    const present = new Float32Array(NUM_CLASSES);
    categories(raster.labels, NUM_CLASSES, present);
    const expected = new Set([0, classOf('ring'), classOf('star'), classOf('triangle')]);
    assert.deepEqual(
      [...present],
      Array.from({ length: NUM_CLASSES }, (_, c) => (expected.has(c) ? 1 : 0)),
    );
    // The ring's hole is background: its centre pixel is class 0, a pixel on its band is the ring's class.
    assert.equal(raster.labels[18 * size + 20], 0);
    assert.equal(raster.labels[18 * size + 12], classOf('ring'));
  });

  it('resizes the label map by nearest neighbour on pixel centres (identity at the same size)', () => {
    const labels = labelMap(['0123', '4567', '7654', '3210']);
    const same = new Uint8Array(16);
    resizeLabels(labels, 4, 4, same);
    assert.deepEqual([...same], [...labels]);
    const half = new Float32Array(4);
    resizeLabels(labels, 4, 2, half); // source index floor((d + ½)·2) = 1, 3
    assert.deepEqual([...half], [5, 7, 2, 0]);
    const double = new Uint8Array(64);
    resizeLabels(labels, 4, 8, double); // source index floor((d + ½)/2): each pixel becomes a 2×2 block
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) assert.equal(double[y * 8 + x], labels[(y >> 1) * 4 + (x >> 1)]);
    }
  });

  it('marks exactly the classes present in the multi-hot', () => {
    const out = new Float32Array(8).fill(7);
    categories(labelMap(['0055', '0055', '2222', '2222']), 8, out);
    assert.deepEqual([...out], [1, 0, 1, 0, 0, 1, 0, 0]);
    categories(labelMap(['3333', '3333', '3333', '3333']), 8, out);
    assert.deepEqual([...out], [0, 0, 0, 1, 0, 0, 0, 0]);
  });
});

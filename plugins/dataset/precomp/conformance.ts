import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ConformanceFixture, writeNpy } from 'shnet';

/**
 * The conformance suite reads `precomp` from a tiny folder written here: split `test` with N = 3 images, R = 4
 * regions of width F = 8, C = 5 classes, 3×3 class grids and 8×8 label maps.
 */
export const precompConformance: ConformanceFixture = {
  setup(dir) {
    const [n, r, f, c, g, m] = [3, 4, 8, 5, 3, 8];
    const ramp = (size: number, scale: number) => Float32Array.from({ length: size }, (_, i) => (i % 17) * scale);
    writeFileSync(join(dir, 'test_caps.txt'), Array.from({ length: 5 * n }, (_, j) => `caption ${j} of image ${Math.floor(j / 5)}\n`).join(''));
    writeNpy(join(dir, 'test_ims.npy'), ramp(n * r * f, 0.1), [n, r, f]);
    writeNpy(join(dir, 'test_segmentations.npy'), ramp(n * c * g * g, 0.05), [n, c, g, g]);
    writeNpy(
      join(dir, 'test_seg_maps.npy'),
      Float32Array.from({ length: n * m * m }, (_, i) => i % c),
      [n, m, m],
    );
    writeNpy(
      join(dir, 'test_cat_onehots.npy'),
      Float32Array.from({ length: n * c }, (_, i) => (i % (c + 1) === 0 ? 1 : 0)),
      [n, c],
    );
    return { root: dir };
  },
};

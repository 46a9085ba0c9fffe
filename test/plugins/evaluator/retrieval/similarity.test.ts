import { strict as assert } from 'node:assert';
import { groundTruthScores, similarityBlock } from '../../../../plugins/evaluator/retrieval';
import { randomFloats } from './fixtures';

/** sims[i, j] by the definition: a float64 dot product in order k = 0 .. D-1, rounded to float32. */
function naive(images: Float32Array, captions: Float32Array, dim: number, i: number, j: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) s += images[i * dim + k] * captions[j * dim + k];
  return Math.fround(s);
}

describe('plugins/evaluator/retrieval/similarity', () => {
  // Sizes that exercise the 2x4 register kernel, its row and column edges, and more than one 64-wide cache tile.
  for (const [n, m, dim] of [[3, 15, 5], [67, 135, 33], [2, 4, 1]]) {
    it(`computes every block of a ${n}x${m} (D=${dim}) matrix bitwise equal to the definition`, () => {
      const images = randomFloats(n * dim, n);
      const captions = randomFloats(m * dim, m);
      const full = new Float32Array(n * m);
      similarityBlock(images, captions, dim, [0, n], [0, m], full);
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) assert.equal(full[i * m + j], naive(images, captions, dim, i, j), `sims[${i}, ${j}]`);

      // A window [r0, r1) x [c0, c1) lands at the start of each output row; rows are `m` apart, the tail untouched.
      const [r0, r1, c0, c1] = [1, n, 1, m - 1];
      const out = new Float32Array((r1 - r0) * m).fill(-7);
      similarityBlock(images, captions, dim, [r0, r1], [c0, c1], out, m);
      for (let i = r0; i < r1; i++) {
        for (let k = 0; k < m; k++) {
          const expected = k < c1 - c0 ? full[i * m + c0 + k] : -7;
          assert.equal(out[(i - r0) * m + k], expected, `window row ${i}, column ${k}`);
        }
      }
    });
  }

  it('gives ground-truth scores identical to the matrix entries they stand for', () => {
    const [n, dim] = [9, 31];
    const images = randomFloats(n * dim, 1);
    const captions = randomFloats(5 * n * dim, 2);
    const full = new Float32Array(n * 5 * n);
    similarityBlock(images, captions, dim, [0, n], [0, 5 * n], full);
    const gt = groundTruthScores(images, captions, dim, 7, 5 * n);
    for (let j = 7; j < 5 * n; j++) assert.equal(gt[j - 7], full[Math.floor(j / 5) * 5 * n + j], `caption ${j}`);
  });

  it('rejects ranges beyond the embeddings and too small outputs', () => {
    const images = new Float32Array(8);
    assert.throws(() => similarityBlock(images, images, 4, [0, 3], [0, 2], new Float32Array(6)), /images rows \[0, 3\) of dimension 4 exceed the 2 rows/);
    assert.throws(() => similarityBlock(images, images, 4, [0, 2], [0, 2], new Float32Array(3)), /holds 3 floats/);
    assert.throws(() => similarityBlock(images, images, 0, [0, 1], [0, 1], new Float32Array(1)), /positive integer/);
  });
});

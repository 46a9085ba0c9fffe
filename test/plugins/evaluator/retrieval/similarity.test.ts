import { strict as assert } from 'node:assert';
import { tf } from '../../../../core/backend/tf';
import { selectBackend } from '../../../../core/backend/select';
import {
  MatmulSimilarity,
  RankAccumulator,
  embeddingSimilarity,
  evaluateEmbeddings,
  groundTruthScores,
  matmulSimilarityAvailable,
  retrievalRanks,
  similarityBlock,
} from '../../../../plugins/evaluator/retrieval';
import { nativeTestBackends, restoreBackendAfterSuite } from '../../../support/tensors';
import { correlatedEmbeddings, randomFloats } from './fixtures';

/** sims[i, j] by the definition: a float64 dot product in order k = 0 .. D-1, rounded to float32. */
function naive(images: Float32Array, captions: Float32Array, dim: number, i: number, j: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) s += images[i * dim + k] * captions[j * dim + k];
  return Math.fround(s);
}

describe('plugins/evaluator/retrieval/similarity', () => {
  // Sizes that exercise the 2x4 register kernel, its row and column edges, and more than one 64-wide cache tile.
  for (const [n, m, dim] of [
    [3, 15, 5],
    [67, 135, 33],
    [2, 4, 1],
  ]) {
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

  describe('MatmulSimilarity (tfjs matMul, exact ranks)', () => {
    restoreBackendAfterSuite();

    /** Ranks of one [N, 5N] block of rows from `block`, thresholds from `groundTruth`. */
    const ranksOf = (n: number, groundTruth: Float32Array, block: (out: Float32Array) => void) => {
      const sims = new Float32Array(n * 5 * n);
      block(sims);
      const ranks = new RankAccumulator(n, groundTruth);
      ranks.addRows(0, n, sims);
      const { i2t, t2i } = ranks.finish();
      return { i2t: Array.from(i2t), t2i: Array.from(t2i), sims };
    };

    /**
     * Near-ties everywhere: images 1.. are image 0 and captions 5.. are captions 0..4, each nudged by a few ulps, so
     * many scores sit within float32 summation error of a rank threshold and a plain matMul would rank them differently.
     */
    const nearTies = (n: number, dim: number) => {
      const base = correlatedEmbeddings(1, dim, 0.5, 41);
      const imageNudge = randomFloats(n * dim, 43);
      const captionNudge = randomFloats(5 * n * dim, 44);
      const images = Float32Array.from({ length: n * dim }, (_, k) => base.images[k % dim] * (1 + 3e-7 * imageNudge[k]));
      const captions = Float32Array.from({ length: 5 * n * dim }, (_, k) => base.captions[k % (5 * dim)] * (1 + 3e-7 * captionNudge[k]));
      return { images, captions };
    };

    for (const backend of ['wasm', ...nativeTestBackends()]) {
      it(`ranks exactly like the exact kernel on ${backend}, on random data and on near-ties`, async () => {
        await selectBackend(backend as 'wasm');
        assert.ok(matmulSimilarityAvailable());
        for (const [what, n, dim, data] of [
          ['random', 40, 64, correlatedEmbeddings(40, 64, 1.2, 7)],
          ['near-ties', 24, 300, nearTies(24, 300)],
        ] as const) {
          const exact = ranksOf(n, groundTruthScores(data.images, data.captions, dim, 0, 5 * n), (out) =>
            similarityBlock(data.images, data.captions, dim, [0, n], [0, 5 * n], out),
          );
          const before = tf.memory().numTensors;
          const matmul = new MatmulSimilarity(data.images, data.captions, dim);
          const fast = ranksOf(n, matmul.groundTruthScores(0, 5 * n), (out) => {
            // Two row blocks and a column window, as the fold protocols ask for them.
            const half = Math.floor(n / 2);
            matmul.block([0, half], [0, 5 * n], out);
            matmul.block([half, n], [0, 5 * n], out.subarray(half * 5 * n));
            const window = new Float32Array(3 * 10);
            matmul.block([2, 5], [10, 20], window);
            for (let i = 0; i < 3; i++) for (let j = 0; j < 10; j++) assert.equal(window[i * 10 + j], out[(2 + i) * 5 * n + 10 + j], `window ${i}, ${j}`);
          });
          matmul.dispose();
          assert.equal(tf.memory().numTensors, before, `${what}: no tensor left behind`);
          assert.deepEqual(fast.i2t, exact.i2t, `${what}: i2t`);
          assert.deepEqual(fast.t2i, exact.t2i, `${what}: t2i`);
          const worst = exact.sims.reduce((m, v, k) => Math.max(m, Math.abs(v - fast.sims[k])), 0);
          assert.ok(worst < 1e-4, `${what}: entries within the float32 bound (worst ${worst})`);
          if (what === 'near-ties') assert.ok(matmul.recomputed > 0, 'near-ties are recomputed exactly');
        }
      });
    }

    for (const backend of ['wasm', ...nativeTestBackends()]) {
      it(`counts exact ranks from approximate blocks on ${backend}, where the plain matMul values would not`, async () => {
        await selectBackend(backend as 'wasm');
        const [n, dim] = [24, 300];
        const { images, captions } = nearTies(n, dim);
        const exactSims = new Float32Array(n * 5 * n);
        similarityBlock(images, captions, dim, [0, n], [0, 5 * n], exactSims);
        const exact = retrievalRanks(exactSims, n);
        const before = tf.memory().numTensors;
        const matmul = new MatmulSimilarity(images, captions, dim);
        const gt = matmul.groundTruthScores(0, 5 * n);
        const resolved = new RankAccumulator(n, gt);
        const plain = new RankAccumulator(n, gt);
        for (const [r0, r1] of [
          [0, 7],
          [7, 24],
        ]) {
          matmul.approximateBlock([r0, r1], [0, 5 * n], (values, bound) => {
            plain.addRows(r0, r1 - r0, values.slice());
            resolved.addRows(r0, r1 - r0, values, { bound });
          });
        }
        assert.ok(matmul.recomputed > 0 && matmul.recomputed < n * 5 * n, `a part of the entries is recomputed (${matmul.recomputed})`);
        const fast = resolved.finish();
        assert.deepEqual(Array.from(fast.i2t), Array.from(exact.i2t), 'i2t');
        assert.deepEqual(Array.from(fast.t2i), Array.from(exact.t2i), 't2i');
        assert.notDeepEqual(Array.from(plain.finish().t2i), Array.from(exact.t2i), 'the matMul values alone rank differently');

        // Through evaluateEmbeddings: one block, and two folds in uneven chunks of rows.
        for (const [protocol, chunkRows] of [
          ['coco-5k', 256],
          [{ folds: 2 }, 5],
        ] as const) {
          const viaMatmul = await evaluateEmbeddings(images, captions, dim, { protocol, chunkRows, kernel: 'matmul' });
          const viaExact = await evaluateEmbeddings(images, captions, dim, { protocol, chunkRows, kernel: 'exact' });
          assert.deepEqual(viaMatmul, viaExact, `${JSON.stringify(protocol)}: the same report`);
        }
        matmul.dispose();
        assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
      });
    }

    it('is what embeddingSimilarity uses on wasm, and the exact kernel on cpu', async () => {
      const { images, captions } = correlatedEmbeddings(6, 8, 1, 3);
      const out = new Float32Array(6 * 30);
      await selectBackend('cpu');
      const onCpu = embeddingSimilarity(images, captions, 8);
      await onCpu.block([0, 6], [0, 30], out);
      const exact = new Float32Array(6 * 30);
      similarityBlock(images, captions, 8, [0, 6], [0, 30], exact);
      assert.deepEqual(out, exact);
      await selectBackend('wasm');
      const before = tf.memory().numTensors;
      const onWasm = embeddingSimilarity(images, captions, 8);
      assert.equal(tf.memory().numTensors, before + 1, 'the captions are held on the backend');
      onWasm.close();
      assert.equal(tf.memory().numTensors, before);
    });
  });
});

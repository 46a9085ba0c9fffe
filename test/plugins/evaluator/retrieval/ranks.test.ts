import { strict as assert } from 'node:assert';
import { RankAccumulator, groundTruthOf, i2tRanks, imagesOf, retrievalRanks, retrievalReport, t2iRanks } from '../../../../plugins/evaluator/retrieval';

/**
 * Two images, ten captions: captions 0-4 describe image 0, captions 5-9 image 1.
 *
 * i2t, image 0: its best own score is 0.875 (caption 0); only caption 5 (0.9375) is higher   -> rank 1.
 * i2t, image 1: its best own score is 0.375 (caption 8); captions 0-4 (0.5 each) are higher  -> rank 5.
 * t2i, caption 0: own image 0 scores 0.875, image 1 scores 0.5                               -> rank 0.
 * t2i, captions 1-4: own image 0 scores 0.125-0.375, image 1 scores 0.5                      -> rank 1 each.
 * t2i, captions 5-9: own image 1 scores 0.0625-0.375, image 0 scores 0.9375-0.75             -> rank 1 each.
 */
const TWO_BY_TEN = Float32Array.from(
  [
    [0.875, 0.125, 0.25, 0.3125, 0.375, 0.9375, 0.5, 0.625, 0.75, 0.8125],
    [0.5, 0.5, 0.5, 0.5, 0.5, 0.0625, 0.25, 0.3125, 0.375, 0.34375],
  ].flat(),
);

describe('plugins/evaluator/retrieval/ranks', () => {
  it('ranks the hand-worked 2x10 case', () => {
    assert.deepEqual(Array.from(i2tRanks(TWO_BY_TEN, 2)), [1, 5]);
    assert.deepEqual(Array.from(t2iRanks(TWO_BY_TEN, 2)), [0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('reports the hand-worked case: R@K in percent, medr and meanr', () => {
    // i2t ranks [1, 5]: R1 0, R5 50 (5 < 5 fails), R10 100, median 3 -> medr 4, mean 3 -> meanr 4.
    // t2i ranks [0, 1 x 9]: R1 10, R5 100, R10 100, median 1 -> medr 2, mean 0.9 -> meanr 1.9.
    assert.deepEqual(retrievalReport(TWO_BY_TEN), {
      'i2t/R1': 0,
      'i2t/R5': 50,
      'i2t/R10': 100,
      'i2t/medr': 4,
      'i2t/meanr': 4,
      't2i/R1': 10,
      't2i/R5': 100,
      't2i/R10': 100,
      't2i/medr': 2,
      't2i/meanr': 1.9,
      rsum: 360,
    });
  });

  it('takes the best of the five captions for i2t', () => {
    // Image 0's captions score 0.1, 0.2, 0.9 (best), 0.3, 0.4; image 1's captions all score 0.5 in row 0.
    // Only the best own caption matters: nothing beats 0.9, so rank 0 although four own captions rank last.
    const sims = Float32Array.from(
      [
        [0.1, 0.2, 0.9, 0.3, 0.4, 0.5, 0.5, 0.5, 0.5, 0.5],
        [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
      ].flat(),
    );
    assert.deepEqual(Array.from(i2tRanks(sims, 2)), [0, 0]);
    // Lowering the best to 0.45 puts all five of image 1's captions above it.
    sims[2] = 0.45;
    assert.deepEqual(Array.from(i2tRanks(sims, 2)), [5, 0]);
  });

  it("resolves ties in the query's favour (rank = count of strictly greater scores)", () => {
    // Row 0: own best 0.5 ties with captions 5 and 6; nothing is strictly greater -> rank 0.
    // Column 5: image 1 (own) and image 0 both score 0.5 -> rank 0. Column 6: own 0.25 < 0.5 -> rank 1.
    const sims = Float32Array.from(
      [
        [0.5, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 0],
        [0.5, 0, 0, 0, 0, 0.5, 0.25, 1, 1, 1],
      ].flat(),
    );
    assert.deepEqual(Array.from(i2tRanks(sims, 2)), [0, 0]);
    assert.deepEqual(Array.from(t2iRanks(sims, 2)), [0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    // All-equal matrix: every query ties with everything, and every rank is 0.
    const flat = new Float32Array(5 * 3 * 3).fill(0.25);
    assert.deepEqual(Array.from(i2tRanks(flat, 3)), [0, 0, 0]);
    assert.ok(t2iRanks(flat, 3).every((r) => r === 0));
  });

  it('counts every tie against the query under the pessimistic policy, never an own caption', () => {
    // The optimistic test's matrix. Row 0: own best 0.5 ties with captions 5 and 6 -> rank 2 (its own captions 1-4
    // score 0 and are positives: not counted). Row 1: own best 1 (captions 7-9), nothing else reaches it -> 0.
    // Column 0: image 1 ties own 0.5 -> 1. Columns 1-4: image 1 ties own 0 -> 1. Column 5: image 0 ties own 0.5
    // -> 1. Column 6: image 0's 0.5 > own 0.25 -> 1 under both policies. Columns 7-9: own 1 > 0 -> 0.
    const sims = Float32Array.from(
      [
        [0.5, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 0],
        [0.5, 0, 0, 0, 0, 0.5, 0.25, 1, 1, 1],
      ].flat(),
    );
    assert.deepEqual(Array.from(i2tRanks(sims, 2, 'pessimistic')), [2, 0]);
    assert.deepEqual(Array.from(t2iRanks(sims, 2, 'pessimistic')), [1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    // All-equal matrix: each image ties with the 10 captions of the two other images, each caption with 2 images.
    const flat = new Float32Array(5 * 3 * 3).fill(0.25);
    assert.deepEqual(Array.from(i2tRanks(flat, 3, 'pessimistic')), [10, 10, 10]);
    assert.ok(t2iRanks(flat, 3, 'pessimistic').every((r) => r === 2));
    // Without ties the two policies agree.
    assert.deepEqual(retrievalRanks(TWO_BY_TEN, 2, 'pessimistic'), retrievalRanks(TWO_BY_TEN, 2, 'optimistic'));
  });

  it('ranks like a sort that puts tied items before (pessimistic) or after (optimistic) the ground truth', () => {
    // Scores on a coarse grid (five levels) so most rows and columns hold ties, ranked both ways against the
    // definition written as a sort.
    const n = 9;
    let state = 3;
    const sims = Float32Array.from({ length: 5 * n * n }, () => ((state = (state * 48271) % 2147483647) % 5) / 4);
    const position = (scores: number[], truth: number[], pessimistic: boolean) => {
      const best = Math.max(...truth.map((t) => scores[t]));
      const order = scores
        .map((score, item) => ({ score, item, own: truth.includes(item) }))
        .filter((e) => !e.own || scores[e.item] === best)
        .sort((a, b) => b.score - a.score || (a.own === b.own ? 0 : a.own === pessimistic ? 1 : -1));
      return order.findIndex((e) => e.own);
    };
    for (const pessimistic of [false, true]) {
      const expectedI2t = Array.from({ length: n }, (_, i) =>
        position(
          Array.from(sims.subarray(5 * n * i, 5 * n * (i + 1))),
          [0, 1, 2, 3, 4].map((k) => 5 * i + k),
          pessimistic,
        ),
      );
      const expectedT2i = Array.from({ length: 5 * n }, (_, j) =>
        position(
          Array.from({ length: n }, (_, i) => sims[5 * n * i + j]),
          [Math.floor(j / 5)],
          pessimistic,
        ),
      );
      const ranks = retrievalRanks(sims, n, pessimistic ? 'pessimistic' : 'optimistic');
      assert.deepEqual(Array.from(ranks.i2t), expectedI2t, `i2t, pessimistic ${pessimistic}`);
      assert.deepEqual(Array.from(ranks.t2i), expectedT2i, `t2i, pessimistic ${pessimistic}`);
    }
    const optimistic = retrievalRanks(sims, n, 'optimistic');
    const pessimistic = retrievalRanks(sims, n, 'pessimistic');
    assert.ok(
      optimistic.t2i.some((r, j) => r < pessimistic.t2i[j]),
      'the grid makes the policies differ',
    );
  });

  it('accumulates the same ranks from row blocks in any order, and from column windows', () => {
    const full = { i2t: i2tRanks(TWO_BY_TEN, 2), t2i: t2iRanks(TWO_BY_TEN, 2) };
    const ranks = new RankAccumulator(2, groundTruthOf(TWO_BY_TEN, 2));
    ranks.addRows(1, 1, TWO_BY_TEN.subarray(10));
    ranks.addRows(0, 1, TWO_BY_TEN.subarray(0, 10));
    assert.deepEqual(ranks.finish(), full);

    // The same matrix as the right half of wider rows: stride 20, offset 10.
    const wide = new Float32Array(40).fill(99);
    wide.set(TWO_BY_TEN.subarray(0, 10), 10);
    wide.set(TWO_BY_TEN.subarray(10), 30);
    const windowed = new RankAccumulator(2, groundTruthOf(TWO_BY_TEN, 2));
    windowed.addRows(0, 2, wide, { stride: 20, offset: 10 });
    assert.deepEqual(windowed.finish(), full);
  });

  describe('scores within a bound (addRows with a ScoreBound)', () => {
    const n = 6;
    const columns = 5 * n;
    const rowScale = Float64Array.from({ length: n }, (_, r) => 1e-3 * (1 + r));
    const columnScale = Float64Array.from({ length: columns }, (_, j) => 1 + (j % 3));
    /** Exact scores with ties: some entries equal their column's ground truth or their row's best own score, some lie just above. */
    const exactScores = () => {
      const sims = Float32Array.from({ length: n * columns }, (_, k) => Math.fround(Math.sin(7 * k + 1)));
      sims[3 * columns + 16] = 1.5; // column 16's threshold above every other score: only row 2's best is near
      const gt = groundTruthOf(sims, n);
      for (const [i, j] of [
        [0, 7],
        [1, 3],
        [2, 29],
        [4, 0],
        [5, 12],
      ])
        sims[i * columns + j] = gt[j];
      for (const [i, j] of [
        [0, 20],
        [3, 1],
        [5, 2],
      ])
        sims[i * columns + j] = Math.max(...sims.subarray(i * columns + 5 * i, i * columns + 5 * i + 5));
      // Just above a threshold, by less than the bound (even entries, which `approximate` moves below it).
      const nudge = (i: number, j: number) => 0.3 * rowScale[i] * columnScale[j];
      for (const [i, j] of [
        [1, 8],
        [3, 14],
      ])
        sims[i * columns + j] = gt[j] + nudge(i, j);
      sims[2 * columns + 16] = Math.max(...sims.subarray(2 * columns + 10, 2 * columns + 15)) + nudge(2, 16);
      return sims;
    };
    /** The exact scores moved by up to the bound, alternately up and down (so ties above break both ways). */
    const approximate = (sims: Float32Array) => sims.map((v, k) => v + (k % 2 ? 0.9 : -0.9) * rowScale[Math.floor(k / columns)] * columnScale[k % columns]);

    it('ranks as the exact scores do, recomputing only entries near a threshold, and writes them back', () => {
      const sims = exactScores();
      const expected = retrievalRanks(sims, n);
      const calls: number[] = [];
      const values = approximate(sims);
      const naive = new RankAccumulator(n, groundTruthOf(sims, n));
      naive.addRows(0, n, values.slice());
      assert.notDeepEqual(naive.finish(), expected, 'the approximate scores alone rank differently');

      const ranks = new RankAccumulator(n, groundTruthOf(sims, n));
      for (const [r0, r1] of [
        [2, 6],
        [0, 2],
      ]) {
        const block = values.subarray(r0 * columns, r1 * columns);
        const bound = {
          rowScale: rowScale.subarray(r0),
          columnScale,
          exact: (r: number, j: number) => (calls.push((r0 + r) * columns + j), sims[(r0 + r) * columns + j]),
        };
        ranks.addRows(r0, r1 - r0, block, { bound });
      }
      assert.deepEqual(ranks.finish(), expected);
      assert.ok(calls.length >= 5 * n + 8 && calls.length < (n * columns) / 2, `${calls.length} exact scores asked for`);
      for (const k of calls) assert.equal(values[k], sims[k], `entry ${k} written back`);
    });

    it('counts the ties of the exact scores under the pessimistic policy', () => {
      const sims = exactScores();
      const expected = retrievalRanks(sims, n, 'pessimistic');
      assert.notDeepEqual(expected, retrievalRanks(sims, n, 'optimistic'), 'the exact scores hold ties');
      const ranks = new RankAccumulator(n, groundTruthOf(sims, n), 'pessimistic');
      const bound = { rowScale, columnScale, exact: (r: number, j: number) => sims[r * columns + j] };
      ranks.addRows(0, n, approximate(sims), { bound });
      assert.deepEqual(ranks.finish(), expected);
    });

    it('takes a window of wider rows, and still refuses NaN that the exact score keeps', () => {
      const sims = exactScores();
      const wide = new Float32Array(n * 2 * columns).fill(NaN);
      const values = approximate(sims);
      for (let i = 0; i < n; i++) wide.set(values.subarray(i * columns, (i + 1) * columns), i * 2 * columns + columns);
      wide[3 * 2 * columns + columns + 17] = NaN; // a NaN the exact score replaces
      const bound = { rowScale, columnScale, exact: (r: number, j: number) => sims[r * columns + j] };
      const ranks = new RankAccumulator(n, groundTruthOf(sims, n));
      ranks.addRows(0, n, wide, { stride: 2 * columns, offset: columns, bound });
      assert.deepEqual(ranks.finish(), retrievalRanks(sims, n));

      const nan = new RankAccumulator(n, groundTruthOf(sims, n));
      const broken = { ...bound, exact: (r: number, j: number) => (r === 1 && j === 9 ? NaN : sims[r * columns + j]) };
      const row1 = values.slice(columns, 2 * columns);
      row1[9] = NaN;
      assert.throws(
        () => nan.addRows(1, 1, row1, { bound: { ...broken, rowScale: rowScale.subarray(1), exact: (_r, j) => broken.exact(1, j) } }),
        /row of image 1 contains NaN/,
      );
      assert.throws(
        () => nan.addRows(0, 2, values, { bound: { ...bound, rowScale: rowScale.subarray(0, 1) } }),
        /bound for 2 rows and 30 columns has 1 and 30/,
      );
    });
  });

  it('refuses missing, repeated and out-of-range rows, and NaN', () => {
    const gt = groundTruthOf(TWO_BY_TEN, 2);
    const missing = new RankAccumulator(2, gt);
    missing.addRows(0, 1, TWO_BY_TEN);
    assert.throws(() => missing.finish(), /1 of 2 image rows were never added \(first: 1\)/);
    assert.throws(() => missing.addRows(0, 1, TWO_BY_TEN), /image row 0 was added twice/);
    assert.throws(() => missing.addRows(1, 2, TWO_BY_TEN), /rows \[1, 3\) are outside \[0, 2\)/);
    assert.throws(() => new RankAccumulator(2, gt).addRows(0, 2, TWO_BY_TEN.subarray(0, 15)), /needs more than the 15 floats/);

    const nan = TWO_BY_TEN.slice();
    nan[13] = NaN;
    assert.throws(() => i2tRanks(nan, 2), /row of image 1 contains NaN/);
    nan[0] = NaN;
    assert.throws(() => i2tRanks(nan, 2), /caption 0 with its image is NaN/);
  });

  it('infers N from an [N, 5N] matrix and rejects other lengths', () => {
    assert.equal(imagesOf(new Float32Array(5 * 7 * 7)), 7);
    assert.throws(() => imagesOf(new Float32Array(11)), /not \[N, 5N\]/);
    assert.throws(() => i2tRanks(TWO_BY_TEN, 3), /not \[N, 5N\] for N = 3/);
  });
});

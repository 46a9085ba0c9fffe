import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeNpy } from '../../../../core/io/npy/npy';
import {
  RETRIEVAL_METRICS,
  type RetrievalMetrics,
  evaluateEmbeddings,
  evaluateSimilarity,
  evaluateSimilarityFiles,
  protocolFolds,
  retrievalRanks,
  retrievalReport,
  similarityBlock,
} from '../../../../plugins/evaluator/retrieval';
import { runPython } from '../../../support/python-env';
import { NUMPY_REFERENCE, correlatedEmbeddings, randomFloats } from './fixtures';

/** The `[n, 5n]` matrix of embeddings, whole (small tests only). */
function fullMatrix(images: Float32Array, captions: Float32Array, dim: number): Float32Array {
  const n = images.length / dim;
  const sims = new Float32Array(n * 5 * n);
  similarityBlock(images, captions, dim, [0, n], [0, 5 * n], sims);
  return sims;
}

/** The diagonal block of fold f (folds of `size` images) copied out of `[n, 5n]`. */
function foldBlock(sims: Float32Array, n: number, f: number, size: number): Float32Array {
  const block = new Float32Array(size * 5 * size);
  for (let i = 0; i < size; i++) {
    const row = (f * size + i) * 5 * n + 5 * f * size;
    block.set(sims.subarray(row, row + 5 * size), i * 5 * size);
  }
  return block;
}

/** Rows and columns of an `[n, 5n]` matrix in which some score occurs twice. */
function tiedLines(sims: Float32Array, n: number): number {
  const lines = [
    ...Array.from({ length: n }, (_, i) => sims.subarray(i * 5 * n, (i + 1) * 5 * n)),
    ...Array.from({ length: 5 * n }, (_, j) => Float32Array.from({ length: n }, (_, i) => sims[i * 5 * n + j])),
  ];
  return lines.filter((line) => new Set(line).size !== line.length).length;
}

const asArray = (m: RetrievalMetrics) => RETRIEVAL_METRICS.map((name) => m[name]);

/**
 * Equal to numpy's unrounded values up to the four decimals every stored metric keeps (metrics.ts), and float
 * rounding of the averaging order (numpy's mean and ours sum in different orders).
 */
function assertClose(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, k) => assert.ok(Math.abs(a - expected[k]) <= 0.5e-4 + 1e-9 * Math.max(1, Math.abs(a)), `${what}[${k}]: ${a} vs ${expected[k]}`));
}

describe('plugins/evaluator/retrieval/evaluate', function () {
  this.timeout(120_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-retrieval-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('protocols', () => {
    it('splits coco-5fold-1k into five folds of 1000, and refuses other image counts', () => {
      assert.deepEqual(
        protocolFolds('coco-5fold-1k', 5000).map((f) => f.firstImage),
        [0, 1000, 2000, 3000, 4000],
      );
      assert.throws(
        () => protocolFolds('coco-5fold-1k', 1000),
        (error: Error) =>
          error.name === 'UsageError' && /coco-5fold-1k is defined for 5000 images \(5 folds of 1000\), and the split has 1000/.test(error.message),
      );
      assert.deepEqual(protocolFolds('f30k-1k', 37), [{ firstImage: 0, images: 37 }]);
      assert.deepEqual(protocolFolds('coco-5k', 5000), [{ firstImage: 0, images: 5000 }]);
      assert.throws(() => protocolFolds({ folds: 3 }, 10), /cannot split 10 images into 3 equal folds/);
      assert.throws(() => protocolFolds('coco-1k' as never, 10), /unknown retrieval protocol 'coco-1k' \(known: coco-5fold-1k, coco-5k, f30k-1k\)/);
    });

    it('averages five folds with different metrics, and ignores scores outside the fold blocks', async () => {
      const [n, dim, size] = [40, 6, 8];
      const { images, captions } = correlatedEmbeddings(n, dim, 1.5, 11);
      const sims = fullMatrix(images, captions, dim);
      const perFold = [0, 1, 2, 3, 4].map((f) => retrievalReport(foldBlock(sims, n, f, size), size));
      assert.ok(new Set(perFold.map((r) => r.rsum)).size > 1, 'the folds differ, so averaging is tested');

      // Off-fold scores far above everything: the fold protocol never looks at them.
      for (let i = 0; i < n; i++) for (let j = 0; j < 5 * n; j++) if (Math.floor(i / size) !== Math.floor(j / (5 * size))) sims[i * 5 * n + j] = 1e6;
      const report = await evaluateSimilarity(sims, n, { protocol: { folds: 5 }, chunkRows: 3 });
      assert.equal(report.protocol, '5-fold');
      assert.deepEqual(report.folds, perFold);
      for (const name of RETRIEVAL_METRICS) {
        const sum = perFold[0][name] + perFold[1][name] + perFold[2][name] + perFold[3][name] + perFold[4][name];
        assert.equal(report.metrics[name], sum / 5, name);
      }
      // As one block, every i2t query now has 5·40 - 5·8 = 160 off-fold captions above its own.
      const whole = await evaluateSimilarity(sims, n, { protocol: 'f30k-1k' });
      assert.equal(whole.metrics['i2t/medr'], 161);
    });
  });

  describe('bounded-memory evaluation', () => {
    it('gives the same report from embeddings in any chunk size as from the whole matrix', async () => {
      const [n, dim] = [30, 10];
      const { images, captions } = correlatedEmbeddings(n, dim, 1.2, 3);
      const expected = retrievalReport(fullMatrix(images, captions, dim), n);
      for (const chunkRows of [1, 7, 30, 256]) {
        const report = await evaluateEmbeddings(images, captions, dim, { protocol: 'coco-5k', chunkRows });
        assert.deepEqual(report.metrics, expected, `chunkRows ${chunkRows}`);
        assert.deepEqual(report.folds, [expected]);
      }
      assert.ok(expected['i2t/R1'] > 0 && expected['i2t/R1'] < 100, 'the data is neither trivial nor hopeless');
    });

    it('saves the full matrix while evaluating folds, and leaves no temporary file', async () => {
      const [n, dim] = [20, 8];
      const { images, captions } = correlatedEmbeddings(n, dim, 1, 5);
      const path = join(dir, 'saved.npy');
      const folded = await evaluateEmbeddings(images, captions, dim, { protocol: { folds: 5 }, chunkRows: 6, saveTo: path });
      const unsaved = await evaluateEmbeddings(images, captions, dim, { protocol: { folds: 5 }, chunkRows: 6 });
      assert.deepEqual(folded, unsaved);
      const saved = await evaluateSimilarityFiles([path], { protocol: { folds: 5 } });
      assert.deepEqual(saved.folds, unsaved.folds);
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.endsWith('.tmp')),
        [],
      );
    });

    it('rejects mismatched and non-finite embeddings', async () => {
      await assert.rejects(evaluateEmbeddings(new Float32Array(8), new Float32Array(16), 4, { protocol: 'coco-5k' }), /hold 4 rows of 4, 2 images need 10/);
      const bad = new Float32Array(5 * 4 * 2);
      bad[13] = Infinity;
      await assert.rejects(evaluateEmbeddings(new Float32Array(8), bad, 4, { protocol: 'coco-5k' }), /caption embedding 3 has a non-finite value \(Infinity\)/);
    });
  });

  describe('ensemble', () => {
    it('averages saved matrices in float32, chunk by chunk', async () => {
      const n = 12;
      const a = randomFloats(n * 5 * n, 21);
      const b = randomFloats(n * 5 * n, 22);
      writeNpy(join(dir, 'a.npy'), a, [n, 5 * n]);
      writeNpy(join(dir, 'b.npy'), b, [n, 5 * n]);
      const mean = a.map((x, k) => Math.fround(Math.fround(x + b[k]) / 2));
      const report = await evaluateSimilarityFiles([join(dir, 'a.npy'), join(dir, 'b.npy')], { protocol: 'f30k-1k', chunkRows: 5 });
      assert.deepEqual(report.metrics, retrievalReport(mean, n));
      writeNpy(join(dir, 'c.npy'), new Float32Array(n * 4 * n), [n, 4 * n]);
      await assert.rejects(
        evaluateSimilarityFiles([join(dir, 'a.npy'), join(dir, 'c.npy')], { protocol: 'f30k-1k' }),
        /c\.npy: shape \(12, 48\) differs from \[N, 5N\]/,
      );
    });
  });

  describe('agreement with numpy running the reference i2t / t2i code', () => {
    const reference = (paths: string[], folds: number) =>
      JSON.parse(runPython(NUMPY_REFERENCE, [paths.join(','), String(folds)])) as {
        folds: { i2t: number[]; t2i: number[]; metrics: number[] }[];
        mean: number[];
      };

    it('matches ranks and metrics on random data without ties, one block and 5 folds', async () => {
      const [n, dim] = [60, 12];
      const { images, captions } = correlatedEmbeddings(n, dim, 1.3, 8);
      const path = join(dir, 'random.npy');
      const whole = await evaluateEmbeddings(images, captions, dim, { protocol: 'coco-5k', saveTo: path });
      const folded = await evaluateEmbeddings(images, captions, dim, { protocol: { folds: 5 } });
      const expectedWhole = reference([path], 1);
      const expectedFolds = reference([path], 5);

      const sims = fullMatrix(images, captions, dim);
      assert.equal(tiedLines(sims, n), 0, 'no ties in any row or column, so the reference order is well defined');
      const ranks = retrievalRanks(sims, n);
      assert.deepEqual(Array.from(ranks.i2t), expectedWhole.folds[0].i2t);
      assert.deepEqual(Array.from(ranks.t2i), expectedWhole.folds[0].t2i);
      assertClose(asArray(whole.metrics), expectedWhole.folds[0].metrics, 'one block');
      folded.folds.forEach((fold, f) => assertClose(asArray(fold), expectedFolds.folds[f].metrics, `fold ${f}`));
      assertClose(asArray(folded.metrics), expectedFolds.mean, '5-fold mean');
    });

    /** A ranks `.npy` as numpy reads it: its dtype, shape and rows. */
    const loadRanks = (path: string) =>
      JSON.parse(
        runPython(
          'import json, sys, numpy as np\na = np.load(sys.argv[1])\nprint(json.dumps({"dtype": str(a.dtype), "shape": list(a.shape), "rows": a.tolist()}))',
          [path],
        ),
      ) as { dtype: string; shape: number[]; rows: number[][] };

    it('writes per-query ranks (.npy [N, 6], .json) that the reference code reproduces, within each fold', async () => {
      const [n, dim] = [40, 10];
      const { images, captions } = correlatedEmbeddings(n, dim, 1.2, 21);
      const sims = join(dir, 'ranked.npy');
      await evaluateEmbeddings(images, captions, dim, { protocol: 'coco-5k', saveTo: sims, saveRanks: join(dir, 'ranks.npy') });
      await evaluateSimilarityFiles([sims], { protocol: { folds: 5 }, saveRanks: join(dir, 'ranks-5fold.json') });
      const expected = reference([sims], 1).folds[0];
      const file = loadRanks(join(dir, 'ranks.npy'));
      assert.deepEqual([file.dtype, file.shape], ['int32', [n, 6]]);
      assert.deepEqual(
        file.rows.map((row) => row[0]),
        expected.i2t,
      );
      assert.deepEqual(
        file.rows.flatMap((row) => row.slice(1)),
        expected.t2i,
      );
      const folded = JSON.parse(readFileSync(join(dir, 'ranks-5fold.json'), 'utf8')) as {
        protocol: string;
        ties: string;
        folds: number[][];
        i2t: number[];
        t2i: number[];
      };
      const expectedFolds = reference([sims], 5).folds;
      assert.deepEqual([folded.protocol, folded.ties, folded.folds], ['5-fold', 'optimistic', [0, 8, 16, 24, 32].map((first) => [first, 8])]);
      assert.deepEqual(
        folded.i2t,
        expectedFolds.flatMap((f) => f.i2t),
      );
      assert.deepEqual(
        folded.t2i,
        expectedFolds.flatMap((f) => f.t2i),
      );
      await assert.rejects(evaluateSimilarityFiles([sims], { protocol: { folds: 1 }, saveRanks: join(dir, 'ranks.csv') }), /must end in \.npy or \.json/);
    });

    it("brackets the reference's argsort ranks on tied scores: optimistic ≤ numpy ≤ pessimistic", async () => {
      const n = 30;
      const { images, captions } = correlatedEmbeddings(n, 6, 1.5, 41);
      // Scores rounded to a grid of 0.25: most rows and columns hold ties, which argsort orders its own way.
      const tied = fullMatrix(images, captions, 6).map((v) => Math.round(4 * v) / 4);
      const path = join(dir, 'tied.npy');
      writeNpy(path, tied, [n, 5 * n]);
      for (const ties of ['optimistic', 'pessimistic'] as const) {
        const report = await evaluateSimilarityFiles([path], { protocol: { folds: 1 }, ties, saveRanks: join(dir, `tied-${ties}.npy`) });
        assert.equal(report.ties, ties);
      }
      const expected = reference([path], 1).folds[0];
      const [optimistic, pessimistic] = ['optimistic', 'pessimistic'].map((ties) => loadRanks(join(dir, `tied-${ties}.npy`)).rows);
      const numpyRanks = expected.i2t.map((r, i) => [r, ...expected.t2i.slice(5 * i, 5 * i + 5)]);
      let differ = 0;
      numpyRanks.forEach((row, i) =>
        row.forEach((r, c) => {
          assert.ok(optimistic[i][c] <= r && r <= pessimistic[i][c], `image ${i} column ${c}: ${optimistic[i][c]} ≤ ${r} ≤ ${pessimistic[i][c]}`);
          if (optimistic[i][c] < pessimistic[i][c]) differ++;
        }),
      );
      assert.ok(differ > n, `${differ} queries with ties`);
    });

    it('matches numpy on an averaged ensemble of two saved matrices', async () => {
      const n = 25;
      const { images, captions } = correlatedEmbeddings(n, 9, 1.1, 30);
      const other = correlatedEmbeddings(n, 9, 1.1, 31);
      const paths = [join(dir, 'model1.npy'), join(dir, 'model2.npy')];
      await evaluateEmbeddings(images, captions, 9, { protocol: 'coco-5k', saveTo: paths[0] });
      await evaluateEmbeddings(other.images, captions, 9, { protocol: 'coco-5k', saveTo: paths[1] });
      const report = await evaluateSimilarityFiles(paths, { protocol: { folds: 5 } });
      const expected = reference(paths, 5);
      for (const [f, fold] of report.folds.entries()) assertClose(asArray(fold), expected.folds[f].metrics, `fold ${f}`);
      assertClose(asArray(report.metrics), expected.mean, 'ensemble mean');
    });
  });
});

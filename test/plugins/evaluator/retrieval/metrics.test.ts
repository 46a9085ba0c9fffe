import { strict as assert } from 'node:assert';
import { RETRIEVAL_METRICS, averageReports, chanceReport, recallMetrics, reportFromRanks, retrievalRanks } from '../../../../plugins/evaluator/retrieval';
import { seededRandom } from './fixtures';

const roundTo4 = (x: number) => Math.round(x * 1e4) / 1e4;

describe('plugins/evaluator/retrieval/metrics', () => {
  it('counts a hit at K as rank < K, in percent of queries', () => {
    const m = recallMetrics([0, 1, 4, 5, 9, 10, 100, 0]);
    assert.equal(m.R1, 25); // ranks 0, 0
    assert.equal(m.R5, 50); // + 1, 4
    assert.equal(m.R10, 75); // + 5, 9
  });

  it("medr is floor(median) + 1, with numpy's median (middle pair averaged for an even count)", () => {
    assert.equal(recallMetrics([9, 0, 2]).medr, 3); // median 2
    assert.equal(recallMetrics([0, 3]).medr, 2); // median 1.5 -> floor 1 -> 2
    assert.equal(recallMetrics([0, 1, 2, 3]).medr, 2); // median 1.5
    assert.equal(recallMetrics([7]).medr, 8);
  });

  it('meanr is mean + 1 of the 0-based ranks', () => {
    assert.equal(recallMetrics([0, 3]).meanr, 2.5);
    assert.equal(recallMetrics([0, 0, 0, 1]).meanr, 1.25);
  });

  it('names every metric and sums the six recalls into rsum', () => {
    const report = reportFromRanks([0, 4, 20], [0, 0, 1, 9, 30, 0, 2, 5, 6, 50, 0, 0, 0, 0, 0]);
    assert.deepEqual(Object.keys(report), [...RETRIEVAL_METRICS]);
    assert.deepEqual([report['i2t/R1'], report['i2t/R5'], report['i2t/R10']], [33.3333, 66.6667, 66.6667]);
    assert.deepEqual([report['t2i/R1'], report['t2i/R5'], report['t2i/R10']], [53.3333, 66.6667, 86.6667]);
    // The sum of the exact recalls (100/3 + 200/3 + 200/3 + 800/15 + 1000/15 + 1300/15 = 373.33…), rounded once.
    assert.equal(report.rsum, 373.3333);
  });

  it('stores the decimal people read: R@K and rsum rounded to four decimals, not float sums', () => {
    // 50 images, 250 captions: R@K 12, 16, 22 and 12, 14.8, 15.6, whose float sum is 92.39999999999999.
    const i2t = [...Array(6).fill(0), 1, 2, 5, 6, 7, ...Array(39).fill(30)];
    const t2i = [...Array(30).fill(0), ...Array(7).fill(3), 8, 9, ...Array(211).fill(40)];
    const report = reportFromRanks(i2t, t2i);
    assert.deepEqual([report['t2i/R1'], report['t2i/R5'], report['t2i/R10']], [12, 14.8, 15.6]);
    assert.equal(String(report.rsum), '92.4');
    assert.equal(String(recallMetrics([0, 0, 1, 30, 30, 30, 30]).meanr), '18.2857');
    const folds = averageReports([report, reportFromRanks([0, 20], Array(10).fill(1))]);
    assert.equal(String(folds.rsum), String(roundTo4((92.4 + 350) / 2)));
  });

  it('averages every metric over folds, rsum included', () => {
    const a = reportFromRanks([0, 0], Array(10).fill(0)); // all recalls 100
    const b = reportFromRanks([20, 20], Array(10).fill(20)); // all recalls 0, medr 21, meanr 21
    const mean = averageReports([a, b]);
    assert.equal(mean['i2t/R1'], 50);
    assert.equal(mean['t2i/medr'], 11);
    assert.equal(mean.rsum, 300);
    assert.throws(() => averageReports([]), /no reports/);
    assert.throws(() => recallMetrics([]), /zero queries/);
  });

  it('gives the chance level of a block: exact by hand for 2 images, 0.1 % R@1 for 1,000', () => {
    // 2 images, 10 captions. i2t R@1: one of 5 own captions first = 5/10; R@5: all 5 first five would have to be
    // the other image's, 1 / C(10, 5) = 1/252. t2i: K/2, capped at 100.
    const two = chanceReport(2);
    assert.equal(two['i2t/R1'], 50);
    assert.ok(Math.abs(two['i2t/R5'] - 100 * (1 - 1 / 252)) < 1e-9);
    assert.equal(two['i2t/R10'], 100);
    assert.deepEqual([two['t2i/R1'], two['t2i/R5'], two['t2i/R10']], [50, 100, 100]);
    const thousand = chanceReport(1000);
    assert.ok(Math.abs(thousand['i2t/R1'] - 0.1) < 1e-9 && thousand['t2i/R1'] === 0.1 && thousand['t2i/R10'] === 1);
    assert.ok(thousand.rsum > 3.1 && thousand.rsum < 3.3, `${thousand.rsum}`);
    assert.throws(() => chanceReport(0), /positive integer/);
  });

  it('matches the recalls of random similarity matrices on average', () => {
    const n = 20;
    const next = seededRandom(5);
    const trials = 400;
    const sums = { i2t: 0, t2i: 0 };
    for (let t = 0; t < trials; t++) {
      const { i2t, t2i } = retrievalRanks(Float32Array.from({ length: 5 * n * n }, next), n);
      const report = reportFromRanks(i2t, t2i);
      sums.i2t += report['i2t/R5'];
      sums.t2i += report['t2i/R5'];
    }
    const chance = chanceReport(n);
    // Standard error of a mean of 400 × 20 (t2i: 400 × 100) Bernoulli draws near p = 0.25: under 0.5 points.
    assert.ok(Math.abs(sums.i2t / trials - chance['i2t/R5']) < 2, `i2t R@5 ${sums.i2t / trials} vs ${chance['i2t/R5']}`);
    assert.ok(Math.abs(sums.t2i / trials - chance['t2i/R5']) < 1, `t2i R@5 ${sums.t2i / trials} vs ${chance['t2i/R5']}`);
  });
});

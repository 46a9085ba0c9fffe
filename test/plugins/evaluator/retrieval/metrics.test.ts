import { strict as assert } from 'node:assert';
import { RETRIEVAL_METRICS, averageReports, recallMetrics, reportFromRanks } from '../../../../plugins/evaluator/retrieval';

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
    const i2t = [100 / 3, 200 / 3, 200 / 3];
    const t2i = [(100 * 8) / 15, (100 * 10) / 15, (100 * 13) / 15];
    assert.deepEqual([report['i2t/R1'], report['i2t/R5'], report['i2t/R10']], i2t);
    assert.deepEqual([report['t2i/R1'], report['t2i/R5'], report['t2i/R10']], t2i);
    assert.equal(
      report.rsum,
      [...i2t, ...t2i].reduce((a, b) => a + b),
    );
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
});

/**
 * Retrieval metrics from ranks, named as shnet logs them: `i2t/R1 … i2t/meanr`, `t2i/R1 … t2i/meanr`, `rsum`.
 * Conventions of the reference (docs/evaluation.md): 0-based ranks, a hit at K is `rank < K`, R@K in percent,
 * medr = floor(median) + 1 (numpy's median: the mean of the two middle ranks for an even count), meanr = mean + 1.
 *
 * Every value is rounded to {@link METRIC_DECIMALS} decimals where it is computed, so what is stored, logged to MLflow
 * and shown is the decimal people read (`353.84`, not the `353.84000000000003` that summing six floats gives). Four
 * decimals keep R@K exact on the standard test splits (1,000 or 5,000 images, 5,000 or 25,000 captions: one query is
 * at least 0.004 %); elsewhere the values are within 0.00005 of the exact ratio.
 */
import { imagesOf, retrievalRanks } from './ranks';

/** Every metric of a retrieval report, in logging order. */
export const RETRIEVAL_METRICS = [
  'i2t/R1',
  'i2t/R5',
  'i2t/R10',
  'i2t/medr',
  'i2t/meanr',
  't2i/R1',
  't2i/R5',
  't2i/R10',
  't2i/medr',
  't2i/meanr',
  'rsum',
] as const;

/** Decimals of every stored metric value. */
export const METRIC_DECIMALS = 4;

/** `value` rounded to {@link METRIC_DECIMALS} decimals: the double closest to that decimal. */
export function roundMetric(value: number): number {
  const scale = 10 ** METRIC_DECIMALS;
  return Math.round(value * scale) / scale;
}

export type RetrievalMetricName = (typeof RETRIEVAL_METRICS)[number];
export type RetrievalMetrics = Record<RetrievalMetricName, number>;

/** Recall and rank statistics of one direction. */
export interface RecallMetrics {
  R1: number;
  R5: number;
  R10: number;
  medr: number;
  meanr: number;
}

/** R@1/5/10 (percent of queries with rank < K), medr and meanr of 0-based `ranks`, unrounded. */
function exactRecallMetrics(ranks: ArrayLike<number>): RecallMetrics {
  const n = ranks.length;
  if (n === 0) throw new Error('no ranks: cannot compute recall of zero queries');
  const sorted = Float64Array.from(ranks).sort();
  const hits = (k: number) => {
    let count = 0;
    for (let q = 0; q < n; q++) if (sorted[q] < k) count++;
    return (100 * count) / n;
  };
  const median = n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  let sum = 0;
  for (let q = 0; q < n; q++) sum += sorted[q];
  return { R1: hits(1), R5: hits(5), R10: hits(10), medr: Math.floor(median) + 1, meanr: sum / n + 1 };
}

const rounded = (m: RecallMetrics): RecallMetrics => ({
  R1: roundMetric(m.R1),
  R5: roundMetric(m.R5),
  R10: roundMetric(m.R10),
  medr: m.medr,
  meanr: roundMetric(m.meanr),
});

/** R@1/5/10 (percent of queries with rank < K), medr and meanr of 0-based `ranks`, rounded as stored. */
export function recallMetrics(ranks: ArrayLike<number>): RecallMetrics {
  return rounded(exactRecallMetrics(ranks));
}

/** The full report of one evaluation from its i2t `[N]` and t2i `[5N]` ranks; rsum sums the unrounded recalls. */
export function reportFromRanks(i2t: ArrayLike<number>, t2i: ArrayLike<number>): RetrievalMetrics {
  const exactA = exactRecallMetrics(i2t);
  const exactB = exactRecallMetrics(t2i);
  const [a, b] = [rounded(exactA), rounded(exactB)];
  return {
    'i2t/R1': a.R1,
    'i2t/R5': a.R5,
    'i2t/R10': a.R10,
    'i2t/medr': a.medr,
    'i2t/meanr': a.meanr,
    't2i/R1': b.R1,
    't2i/R5': b.R5,
    't2i/R10': b.R10,
    't2i/medr': b.medr,
    't2i/meanr': b.meanr,
    rsum: roundMetric(exactA.R1 + exactA.R5 + exactA.R10 + exactB.R1 + exactB.R5 + exactB.R10),
  };
}

/** The report of an in-memory similarity matrix `[N, 5N]` (N inferred from its length when omitted). */
export function retrievalReport(sims: Float32Array, images = imagesOf(sims)): RetrievalMetrics {
  const { i2t, t2i } = retrievalRanks(sims, images);
  return reportFromRanks(i2t, t2i);
}

/** Every metric averaged over reports (the 5-fold protocol); the averaged rsum is the mean of the per-fold rsums. */
export function averageReports(reports: readonly RetrievalMetrics[]): RetrievalMetrics {
  if (reports.length === 0) throw new Error('no reports to average');
  const mean = {} as RetrievalMetrics;
  for (const name of RETRIEVAL_METRICS) mean[name] = roundMetric(reports.reduce((s, r) => s + r[name], 0) / reports.length);
  return mean;
}

/** The recalls and rSum of {@link chanceReport}: what a model that ranks at random scores. */
export type ChanceMetrics = Record<'i2t/R1' | 'i2t/R5' | 'i2t/R10' | 't2i/R1' | 't2i/R5' | 't2i/R10' | 'rsum', number>;

/**
 * Expected R@K of random rankings on a block of `images` images and their 5·images captions: for i2t, the chance
 * that at least one of an image's 5 captions is among the first K of 5N, 1 − C(5N−5, K) / C(5N, K); for t2i, K / N.
 * The scale a result is read against (rSum is out of 600).
 */
export function chanceReport(images: number): ChanceMetrics {
  if (!Number.isInteger(images) || images <= 0) throw new Error(`number of images must be a positive integer, got ${images}`);
  const captions = 5 * images;
  const i2t = (k: number) => {
    let miss = 1;
    for (let t = 0; t < Math.min(k, captions); t++) miss *= Math.max(0, captions - 5 - t) / (captions - t);
    return 100 * (1 - miss);
  };
  const t2i = (k: number) => (100 * Math.min(k, images)) / images;
  const report = { 'i2t/R1': i2t(1), 'i2t/R5': i2t(5), 'i2t/R10': i2t(10), 't2i/R1': t2i(1), 't2i/R5': t2i(5), 't2i/R10': t2i(10) };
  return { ...report, rsum: Object.values(report).reduce((a, b) => a + b, 0) };
}

import type { EvaluationReport } from '../contracts/evaluation';

/** Columns of the retrieval table: R@1/5/10, medr, meanr each way, then rSum. */
const COLUMNS = [
  ['i2t R@1', 'i2t/R1'],
  ['R@5', 'i2t/R5'],
  ['R@10', 'i2t/R10'],
  ['medr', 'i2t/medr'],
  ['meanr', 'i2t/meanr'],
  ['t2i R@1', 't2i/R1'],
  ['R@5', 't2i/R5'],
  ['R@10', 't2i/R10'],
  ['medr', 't2i/medr'],
  ['meanr', 't2i/meanr'],
  ['rSum', 'rsum'],
] as const;

/**
 * A plain-text table of a retrieval report: one row per fold for fold protocols, then the mean (the reported
 * figure: each metric averaged over folds), plus a row per extra protocol the evaluator reported beside the main one.
 */
export function formatReportTable(report: EvaluationReport, title: string): string {
  const rows: Array<[string, Readonly<Record<string, number>>]> = [];
  report.folds?.forEach((fold, f) => rows.push([`fold ${f + 1}`, fold]));
  rows.push([report.folds ? 'mean' : report.protocol, report.metrics]);
  const extras = new Set(
    Object.keys(report.metrics)
      .filter((k) => k.split('/').length === 3)
      .map((k) => k.split('/')[0]),
  );
  for (const extra of extras) {
    rows.push([
      extra,
      Object.fromEntries(
        Object.entries(report.metrics)
          .filter(([k]) => k.startsWith(`${extra}/`))
          .map(([k, v]) => [k.slice(extra.length + 1), v]),
      ),
    ]);
  }
  const cell = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(Number.isInteger(v) ? 0 : 2));
  const table = [['', ...COLUMNS.map(([label]) => label)], ...rows.map(([label, m]) => [label, ...COLUMNS.map(([, key]) => cell(m[key]))])];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  const lines = table.map((row) => row.map((text, c) => (c === 0 ? text.padEnd(widths[c]) : text.padStart(widths[c]))).join('  '));
  return `${title}\n${lines.join('\n')}\n`;
}

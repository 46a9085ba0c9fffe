import type { RunSummary } from './compare-data';

/** The comparison `shnet compare` prints: one row per run; columns are differing params, then the chosen metrics. */
export interface Comparison {
  params: string[];
  metrics: string[];
  runs: RunSummary[];
}

export type CompareFormat = 'table' | 'md' | 'csv' | 'json';

/**
 * Retrieval metrics shown by default: every validation `val/i2t/*`, `val/t2i/*` and `val/rsum` present in any run
 * (and the same keys without the prefix, as runs logged them before validation metrics were prefixed).
 */
const DEFAULT_METRIC = /^(val\/)?(i2t\/|t2i\/|rsum$)/;

/** Picks the params whose values are not all equal across `runs`, and the metrics to show (given or default). */
export function buildComparison(runs: RunSummary[], metrics?: readonly string[]): Comparison {
  const paramKeys = [...new Set(runs.flatMap((run) => Object.keys(run.params)))].sort();
  const differing = paramKeys.filter((key) => new Set(runs.map((run) => run.params[key])).size > 1);
  const present = [...new Set(runs.flatMap((run) => Object.keys(run.metrics)))].sort();
  return { params: differing, metrics: metrics?.length ? [...metrics] : present.filter((k) => DEFAULT_METRIC.test(k)), runs };
}

function cells(comparison: Comparison): { header: string[]; rows: string[][] } {
  const header = ['run', 'name', ...comparison.params.map((k) => `params.${k}`), ...comparison.metrics];
  const rows = comparison.runs.map((run) => [
    run.runId,
    run.runName,
    ...comparison.params.map((key) => run.params[key] ?? ''),
    ...comparison.metrics.map((key) => (key in run.metrics ? formatNumber(run.metrics[key]) : '')),
  ]);
  return { header, rows };
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
}

const csvCell = (text: string) => (/[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);

export function formatComparison(comparison: Comparison, format: CompareFormat): string {
  if (format === 'json') {
    const runs = comparison.runs.map((run) => ({
      runId: run.runId,
      runName: run.runName,
      params: Object.fromEntries(comparison.params.map((key) => [key, run.params[key] ?? null])),
      metrics: Object.fromEntries(comparison.metrics.map((key) => [key, run.metrics[key] ?? null])),
    }));
    return `${JSON.stringify({ params: comparison.params, metrics: comparison.metrics, runs }, null, 2)}\n`;
  }
  const { header, rows } = cells(comparison);
  if (format === 'csv') return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
  if (format === 'md') {
    const line = (row: string[]) => `| ${row.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;
    return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
  }
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i].length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

import { differingParams, orderMetrics, paramCell, type ParamColumn } from './compare-columns';
import type { RunSummary } from './compare-data';

/** The comparison `shnet compare` prints: one row per run; columns are differing params, then the chosen metrics. */
export interface Comparison {
  params: ParamColumn[];
  metrics: string[];
  runs: RunSummary[];
}

export type CompareFormat = 'table' | 'md' | 'csv' | 'json';

/**
 * Retrieval metrics shown by default: every validation `val/i2t/*`, `val/t2i/*` and `val/rsum` present in any run
 * (and the same keys without the prefix, as runs logged them before validation metrics were prefixed).
 */
const DEFAULT_METRIC = /^(val\/)?(i2t\/|t2i\/|rsum$)/;

/** Longest param value the table and Markdown formats show whole (a recipe's `description` is a sentence). */
const MAX_CELL = 40;

/**
 * Picks the params whose values are not all equal across `runs` (compare-columns.ts), and the metrics to show: the
 * ones asked for in their order, else the default retrieval metrics in reading order (R1, R5, R10; i2t, t2i, rSum).
 */
export function buildComparison(runs: RunSummary[], metrics?: readonly string[]): Comparison {
  const present = [...new Set(runs.flatMap((run) => Object.keys(run.metrics)))];
  return {
    params: differingParams(runs),
    metrics: metrics?.length ? [...metrics] : orderMetrics(present.filter((k) => DEFAULT_METRIC.test(k))),
    runs,
  };
}

const shorten = (text: string) => (text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 1)}…` : text);

function cells(comparison: Comparison, short: boolean): { header: string[]; rows: string[][] } {
  const header = ['run', 'name', ...comparison.params.map((column) => column.key), ...comparison.metrics];
  const rows = comparison.runs.map((run) => [
    run.runId,
    run.runName,
    ...comparison.params.map((column) => (short ? shorten(paramCell(run, column)) : paramCell(run, column))),
    ...comparison.metrics.map((key) => (key in run.metrics ? formatNumber(run.metrics[key]) : '')),
  ]);
  return { header, rows };
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(4).replace(/0+$/, '').replace(/\.$/, '');
}

const csvCell = (text: string) => (/[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);

/** The comparison as text: an aligned table, Markdown, CSV or JSON (CSV and JSON keep long values whole). */
export function formatComparison(comparison: Comparison, format: CompareFormat): string {
  if (format === 'json') {
    const runs = comparison.runs.map((run) => ({
      runId: run.runId,
      runName: run.runName,
      params: Object.fromEntries(comparison.params.map((column) => [column.key, paramCell(run, column) || null])),
      metrics: Object.fromEntries(comparison.metrics.map((key) => [key, run.metrics[key] ?? null])),
    }));
    const params = comparison.params.map((column) => column.key);
    return `${JSON.stringify({ params, metrics: comparison.metrics, runs }, null, 2)}\n`;
  }
  const { header, rows } = cells(comparison, format !== 'csv');
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

/**
 * Rows of the benchmark table and how each benchmark script hands them over: run alone it prints a table; with
 * `--json` (as bench/index.ts runs it, one child process per section, so peak RSS and backend state are its own)
 * it prints one `BENCH_JSON {...}` line.
 */
export interface Row {
  /** Which section of the table (e.g. "1 backend peak"). */
  section: string;
  measure: string;
  /** The measured figure with its unit ("31.2 GFLOP/s"). */
  value: string;
  /** What it is compared with ("numpy sgemm 98.1 GFLOP/s"), when anything. */
  against?: string;
  /** value / against, oriented so that higher is better unless the target says otherwise. */
  ratio?: number;
  /** The target as text ("≥ 0.5"), and whether this run met it. */
  target?: string;
  met?: boolean;
  /**
   * Set by bench/index.ts when other processes took more than BUSY_CORES (bench/machine-share.ts) cores during the section: the
   * judgment is printed with "(busy)", as a ratio measured then is not comparable with a quiet run's.
   */
  busy?: boolean;
}

/** The met column: yes / no, marked when the machine was shared. */
function metCell(r: Row, no: string): string {
  if (r.met == null) return '';
  return `${r.met ? 'yes' : no}${r.busy ? ' (busy)' : ''}`;
}

/** What a section returns: its rows, and figures later sections need (matmul peaks). */
export interface SectionResult {
  rows: Row[];
  data?: Record<string, number | string>;
}

const MARKER = 'BENCH_JSON ';

/** Formats rows as one aligned text table. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['section', 'measure', 'value', 'against', 'ratio', 'target', 'met'];
  const cells = rows.map((r) => [
    r.section,
    r.measure,
    r.value,
    r.against ?? '',
    r.ratio == null ? '' : r.ratio >= 100 ? r.ratio.toFixed(0) : r.ratio.toPrecision(3),
    r.target ?? '',
    metCell(r, 'NO'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [header, widths.map((w) => '-'.repeat(w)), ...cells]
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]))
        .join(' | ')
        .trimEnd(),
    )
    .join('\n');
}

/** The same rows as a Markdown table (for docs/performance.md). */
export function formatMarkdown(rows: readonly Row[]): string {
  const lines = ['| section | measure | value | against | ratio | target | met |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const ratio = r.ratio == null ? '' : r.ratio >= 100 ? r.ratio.toFixed(0) : r.ratio.toPrecision(3);
    lines.push(`| ${r.section} | ${r.measure} | ${r.value} | ${r.against ?? ''} | ${ratio} | ${r.target ?? ''} | ${metCell(r, '**no**')} |`);
  }
  return lines.join('\n');
}

/** The CLI end of a section: a table for people, one JSON line for bench/index.ts. */
export function runSection(run: () => Promise<SectionResult>): void {
  run()
    .then((result) => {
      if (process.argv.includes('--json')) console.log(MARKER + JSON.stringify(result));
      else console.log(formatTable(result.rows));
    })
    .catch((err) => {
      console.error(err);
      process.exitCode = 1;
    });
}

/** The section result a child process printed, or an error naming its last output. */
export function parseSectionOutput(stdout: string): SectionResult {
  const line = stdout.split('\n').find((l) => l.startsWith(MARKER));
  if (line == null) throw new Error(`no ${MARKER.trim()} line in the output:\n${stdout.slice(-2000)}`);
  return JSON.parse(line.slice(MARKER.length)) as SectionResult;
}

/** A number of the environment, or `fallback`. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw == null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got '${raw}'`);
  return value;
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export const gflops = (flops: number, ms: number) => flops / ms / 1e6;
export const fmt = (x: number, digits = 1) => x.toFixed(digits);

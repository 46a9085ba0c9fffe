/**
 * `npm run results`: regenerates the measured parts of docs/results.md, and docs/results.json (the same numbers as
 * data, which the end-of-run summary quotes), from the sweeps that make them. Each study is one `shnet sweep` of a
 * shipped sweep file, run one trial at a time on the wasm backend into `runs/results-<commit>/<study>/`; a study
 * already run at this commit is resumed (finished trials are not run again). Then every trial's test metrics are read
 * from its run folder (`evaluation.json`), folded over the seeds, printed, and written between the
 * `<!-- results:NAME -->` … `<!-- /results:NAME -->` markers of docs/results.md.
 *
 *   npm run results                 # every study (19 runs, two at a time)
 *   npm run results -- demo         # only the named studies
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import type { ResultsFile, ResultsRow, ResultsStudy } from '../core/run/known-results';

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'core', 'cli', 'main.js');
const DOC = join(ROOT, 'docs', 'results.md');
const DATA = join(ROOT, 'docs', 'results.json');
const COMMAND = 'npm run results';

/** A study: a sweep file whose grid points are the rows, named in grid order. */
interface Study {
  readonly name: string;
  readonly sweep: string;
  readonly labels: readonly string[];
}

const STUDIES: readonly Study[] = [
  // recipes/shapes/baseline.yaml against 3shnet.yaml exactly: the demo's comparison, five seeds.
  { name: 'demo', sweep: 'recipes/shapes/sweep-results.yaml', labels: ['baseline (regions + GPO)', '3SHNet'] },
  // The ladder's middle rungs; its ends are the demo's rows.
  { name: 'ablation', sweep: 'recipes/shapes/sweep-ablation.yaml', labels: ['2. + VSeM', '3. + VSpM', '4. + category token'] },
];

/**
 * The tables of docs/results.md, each a list of rows taken from the studies: the demo's comparison, and the ablation
 * ladder (its first and last rungs are the demo's baseline and 3SHNet rows, on the ladder's seeds only, so that no
 * run is made twice).
 */
const SECTIONS: ReadonlyArray<{ readonly name: string; readonly rows: ReadonlyArray<{ study: string; row: number; label?: string }> }> = [
  {
    name: 'demo',
    rows: [
      { study: 'demo', row: 0 },
      { study: 'demo', row: 1 },
    ],
  },
  {
    name: 'ablation',
    rows: [
      { study: 'demo', row: 0, label: '1. baseline (regions + GPO)' },
      { study: 'ablation', row: 0 },
      { study: 'ablation', row: 1 },
      { study: 'ablation', row: 2 },
      { study: 'demo', row: 1, label: '5. + grid tokens: 3SHNet' },
    ],
  },
];

/** The retrieval metrics of the tables, in column order. */
const METRICS = ['i2t/R1', 'i2t/R5', 'i2t/R10', 't2i/R1', 't2i/R5', 't2i/R10', 'rsum'] as const;

interface TrialRecord {
  readonly assignment: Record<string, unknown>;
  readonly runDir: string;
  readonly status: string;
}

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
}

/** Runs the study's sweep (resuming one already started at this commit) and returns its state file's trials. */
function runStudy(study: Study, output: string): { sweepId: string; sweepDir: string; trials: TrialRecord[] } {
  const sweeps = join(output, 'sweeps');
  const started = existsSync(sweeps) && readdirSync(sweeps).length > 0;
  const args = [CLI, 'sweep', study.sweep, '--parallel', '2', '--max-retries', '0', '--set', `output=${output}`, '--set', 'backend=wasm'];
  if (started) args.push('--resume');
  process.stderr.write(`== ${study.name}: shnet ${args.slice(1).join(' ')}\n`);
  const run = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0) throw new Error(`the ${study.name} sweep failed (exit ${run.status}); rerun \`${COMMAND}\` to resume it`);
  const [sweepId] = readdirSync(sweeps);
  const state = JSON.parse(readFileSync(join(sweeps, sweepId, 'sweep-state.json'), 'utf8')) as { trials: Record<string, TrialRecord> };
  return { sweepId, sweepDir: join(sweeps, sweepId), trials: Object.values(state.trials) };
}

/** The backend line the sweep's first trial logged (`wasm (2 threads, SIMD)`). */
function backendOf(sweepDir: string): string {
  const trials = join(sweepDir, 'trials');
  const log = readFileSync(join(trials, readdirSync(trials)[0], 'trial.log'), 'utf8');
  return /^\[shnet\] ((?:wasm|tensorflow|tensorflow-gpu|cpu) \(.*\))$/m.exec(log)?.[1] ?? 'unknown';
}

/** Sample standard deviation (n − 1); 0 for a single value. */
function std(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** The study's rows: trials grouped by grid point (everything but the seed), in plan order. */
function foldSeeds(study: Study, sweepId: string, trials: readonly TrialRecord[]): ResultsStudy {
  const groups = new Map<string, TrialRecord[]>();
  for (const trial of trials) {
    if (trial.status !== 'done') throw new Error(`${study.name}: trial in ${trial.runDir} is ${trial.status}`);
    const { seed: _seed, ...point } = trial.assignment;
    const key = JSON.stringify(point);
    groups.set(key, [...(groups.get(key) ?? []), trial]);
  }
  if (groups.size !== study.labels.length) throw new Error(`${study.name}: ${groups.size} grid points, but ${study.labels.length} labels`);
  const first = parse(readFileSync(join(trials[0].runDir, 'recipe.yaml'), 'utf8')) as Record<string, unknown>;
  let protocol = '';
  const rows: ResultsRow[] = [...groups.values()].map((group, i) => {
    const reports = group.map((trial) => {
      const evaluation = JSON.parse(readFileSync(join(trial.runDir, 'evaluation.json'), 'utf8')) as {
        test: { protocol: string; metrics: Record<string, number> };
      };
      protocol = evaluation.test.protocol;
      return { seed: Number(trial.assignment.seed), metrics: evaluation.test.metrics };
    });
    const rsum = reports.map((r) => r.metrics.rsum);
    return {
      label: study.labels[i],
      baseline: i === 0,
      seeds: reports.map((r) => r.seed),
      rsum,
      mean: mean(rsum),
      std: std(rsum),
      metrics: meanMetrics(reports.map((r) => r.metrics)),
      perSeed: reports.map((r) => Object.fromEntries(METRICS.map((m) => [m, r.metrics[m]]))),
    };
  });
  const split = String((first.evaluate as { split?: unknown } | undefined)?.split ?? 'test');
  return { name: study.name, sweep: study.sweep, sweepId, data: first.data, split, protocol, rows };
}

function withLabel(row: ResultsRow, label: string | undefined): ResultsRow {
  return label === undefined ? row : { ...row, label };
}

/** A row restricted to some of its seeds (the ladder takes the demo's rows on its own seeds): rSum statistics only. */
function onSeeds(row: ResultsRow, seeds: readonly number[]): ResultsRow {
  if (seeds.length === row.seeds.length) return row;
  const rsum = seeds.map((seed) => row.rsum[row.seeds.indexOf(seed)]);
  return {
    ...row,
    seeds,
    rsum,
    mean: mean(rsum),
    std: std(rsum),
    metrics: row.perSeed ? meanMetrics(seeds.map((seed) => row.perSeed![row.seeds.indexOf(seed)])) : row.metrics,
  };
}

function meanMetrics(reports: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  return Object.fromEntries(METRICS.map((m) => [m, mean(reports.map((r) => r[m]))]));
}

const fixed = (value: number, digits = 1) => value.toFixed(digits);

/** Per-seed test rSum, mean ± sample std and spread (std / mean) of the rows; then the mean of each metric. */
function formatRows(sources: readonly ResultsStudy[], rows: readonly ResultsRow[], commit: string, backend: string): string {
  const [study] = sources;
  const sweeps = sources.map((s) => `\`${s.sweep}\` (id ${s.sweepId})`).join(' and ');
  const seeds = rows[0].seeds;
  const lines = [
    `| model | ${seeds.map((s) => `seed ${s}`).join(' | ')} | mean ± std | spread |`,
    `|---|${seeds.map(() => '---|').join('')}---|---|`,
    ...rows.map(
      (row) =>
        `| ${row.label} | ${row.rsum.map((v) => fixed(v, 2)).join(' | ')} | ${fixed(row.mean)} ± ${fixed(row.std)} | ${fixed((100 * row.std) / row.mean)} % |`,
    ),
    '',
    `| model (mean over ${seeds.length} seeds) | ${METRICS.map((m) => m.replace('/', ' ').replace(/R(\d+)/, 'R@$1')).join(' | ')} |`,
    `|---|${METRICS.map(() => '---|').join('')}`,
    ...rows.map((row) => `| ${row.label} | ${METRICS.map((m) => fixed(row.metrics[m])).join(' | ')} |`),
    '',
    `Test rSum (out of 600) on '${study.split}', protocol ${study.protocol}; ${sources.length > 1 ? 'sweeps' : 'sweep'} ${sweeps}, ${backend}, commit ${commit}; made by \`${COMMAND}\`.`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Replaces the text between `<!-- results:NAME -->` and `<!-- /results:NAME -->`. */
function splice(doc: string, name: string, content: string): string {
  const open = `<!-- results:${name} -->`;
  const close = `<!-- /results:${name} -->`;
  const start = doc.indexOf(open);
  const end = doc.indexOf(close);
  if (start < 0 || end < start) throw new Error(`docs/results.md has no ${open} … ${close} section`);
  return `${doc.slice(0, start + open.length)}\n${content}${doc.slice(end)}`;
}

function main(): void {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !STUDIES.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown studies ${unknown.join(', ')} (known: ${STUDIES.map((s) => s.name).join(', ')})`);
  const commit = git('describe', '--always', '--dirty', '--abbrev=12');
  const output = join(ROOT, 'runs', `results-${commit}`);
  const previous = existsSync(DATA) ? (JSON.parse(readFileSync(DATA, 'utf8')) as ResultsFile) : null;
  const studies = new Map((previous?.studies ?? []).map((s) => [s.name, s]));
  let doc = readFileSync(DOC, 'utf8');
  let backend = previous?.backend ?? 'unknown';
  for (const study of STUDIES.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
    const { sweepId, sweepDir, trials } = runStudy(study, join(output, study.name));
    backend = backendOf(sweepDir);
    studies.set(study.name, foldSeeds(study, sweepId, trials));
  }
  for (const section of SECTIONS) {
    if (!section.rows.every((r) => studies.has(r.study))) continue;
    const rows = section.rows.map(({ study, row, label }) => withLabel(studies.get(study)!.rows[row], label));
    const seeds = Math.min(...rows.map((r) => r.seeds.length));
    const sources = [...new Set(section.rows.map((r) => r.study))].map((name) => studies.get(name)!);
    const table = formatRows(
      sources,
      rows.map((r) => onSeeds(r, r.seeds.slice(0, seeds))),
      commit,
      backend,
    );
    process.stdout.write(`\n${section.name}\n${table}`);
    doc = splice(doc, section.name, table);
  }
  const results: ResultsFile = {
    commit,
    made: new Date().toISOString(),
    command: COMMAND,
    backend,
    studies: STUDIES.map((s) => studies.get(s.name)).filter((s): s is ResultsStudy => s !== undefined),
  };
  writeFileSync(DATA, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(DOC, doc);
  process.stderr.write(`wrote ${relative(process.cwd(), DOC)} and ${relative(process.cwd(), DATA)} (commit ${commit})\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`results: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}

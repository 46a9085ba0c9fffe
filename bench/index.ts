/**
 * `npm run bench`: every benchmark section in one run, printed as ONE table of ratios (each figure against a
 * floor or a peer measured or stated in the same run). Each section runs in its own child process (its peak RSS
 * and backend state are its own) with `--json`, in this order:
 *
 *   1 backend peak   bench/backend-matmul.ts  matMul / conv2d GFLOP/s per installed backend vs numpy sgemm
 *   2 training step  bench/train-step.ts      the recipe's image + text model: steps/s, share of matMul peak, blocks
 *   3 evaluation     bench/evaluation.ts      COCO 5K similarity + ranks + metrics vs numpy sgemm; peak RSS
 *   4 vs PyTorch     bench/peer-comparison.ts the image encoder against its PyTorch peer, alternating in this run:
 *                                            training step at batch 32, inference at batch 128
 *   5 streaming      bench/npy-streaming.ts   NpyReader vs cat
 *   6 memory         bench/memory.ts          tensors and RSS over N training steps
 *   7 wasm threads   bench/wasm-threads.ts    the wasm backend on one thread vs on every core (child processes)
 *   8 search index   bench/retrieval-index.ts HNSW vs exact search at 5K images / 25K captions; shnet serve latency
 *
 * Sizes come from environment variables (each section's header lists its own). SHNET_BENCH_QUICK=1 gives a
 * run of under 3 minutes (batch 4, N = 1000 images, 3 memory steps, …); an explicitly set variable still wins.
 * Each section's wall time is a row of the table; the whole run's is the last row, against its budget (20 minutes
 * at default sizes, 3 quick, on 2 cores with only wasm). SHNET_BENCH_SECTIONS=1,3 runs a subset. `--markdown FILE`
 * also writes the table as Markdown.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { BUSY_CORES, cpuSnapshot, othersCores } from './machine-share';
import { fmt, formatMarkdown, formatTable, parseSectionOutput, type Row } from './report';

const SECTIONS: [string, string][] = [
  ['1', 'backend-matmul'],
  ['2', 'train-step'],
  ['3', 'evaluation'],
  ['4', 'peer-comparison'],
  ['5', 'npy-streaming'],
  ['6', 'memory'],
  ['7', 'wasm-threads'],
  ['8', 'retrieval-index'],
];

const QUICK: Record<string, string> = {
  SHNET_BENCH_BATCH: '4',
  SHNET_BENCH_RUNS: '1',
  SHNET_BENCH_EVAL_IMAGES: '1000',
  SHNET_BENCH_EVAL_RUNS: '1',
  SHNET_BENCH_PEER_BATCH: '4',
  SHNET_BENCH_INFER_BATCH: '16',
  SHNET_BENCH_PEER_ROUNDS: '1',
  SHNET_BENCH_MEMORY_STEPS: '3',
  SHNET_BENCH_MEMORY_BATCH: '2',
  SHNET_BENCH_NPY_ROWS: '300',
  SHNET_BENCH_THREADS_BATCH: '2',
  SHNET_BENCH_ROUNDS: '1',
  SHNET_BENCH_ANN_IMAGES: '1000',
  SHNET_BENCH_ANN_REQUESTS: '10',
};

/** How long the whole run may take on 2 cores with only wasm (the default backend of a fresh clone). */
const BUDGET_MINUTES = { full: 20, quick: 3 };

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');

function main(): void {
  const quick = process.env.SHNET_BENCH_QUICK === '1';
  const env: NodeJS.ProcessEnv = { ...(quick ? QUICK : {}), ...process.env };
  const wanted = env.SHNET_BENCH_SECTIONS?.split(',').map((s) => s.trim());
  const rows: Row[] = [];
  const busySections: string[] = [];
  const started = new Date();
  const loadBefore = load();
  const t00 = performance.now();
  for (const [id, script] of SECTIONS) {
    if (wanted != null && !wanted.includes(id)) continue;
    const t0 = performance.now();
    const cpuBefore = cpuSnapshot();
    process.stderr.write(`bench: section ${id} (${script}) …`);
    let section = `${id} ${script}`;
    const sectionRows: Row[] = [];
    try {
      const stdout = execFileSync(process.execPath, [join(__dirname, `${script}.js`), '--json'], {
        env,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const result = parseSectionOutput(stdout);
      sectionRows.push(...result.rows);
      section = result.rows[0]?.section ?? section;
      // Later sections compare against the backend peaks of section 1.
      if (id === '1' && result.data) env.SHNET_BENCH_PEAKS = JSON.stringify(result.data);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      sectionRows.push({ section, measure: 'FAILED', value: (e.stderr ?? e.message).trim().split('\n').slice(-3).join(' / ') });
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpuAfter = cpuSnapshot();
    const others = cpuBefore && cpuAfter ? othersCores(cpuBefore, cpuAfter) : null;
    const busy = others != null && others > BUSY_CORES;
    if (busy) for (const row of sectionRows) if (row.met != null) row.busy = true;
    rows.push(...sectionRows, { section, measure: 'time of this section', value: `${fmt(seconds, 0)} s` });
    if (others != null) {
      rows.push({
        section,
        measure: 'CPU taken by other processes meanwhile (average)',
        value: `${fmt(others, 2)} of ${cpus().length} cores`,
        ...(busy ? { against: `over ${BUSY_CORES}: this section's targets are marked (busy)` } : {}),
      });
      if (busy) busySections.push(section);
    }
    process.stderr.write(` ${fmt(seconds, 0)} s${busy ? ` (other processes took ${fmt(others, 2)} cores)` : ''}\n`);
  }
  const minutes = (performance.now() - t00) / 60000;
  const budget = quick ? BUDGET_MINUTES.quick : BUDGET_MINUTES.full;
  const complete = wanted == null;
  rows.push({
    section: 'all',
    measure: `time of the whole run${quick ? ' (quick sizes)' : ''}${complete ? '' : ' (a subset: no target)'}`,
    value: `${fmt(minutes, 1)} min`,
    ...(complete ? { against: `budget ${budget} min (2 cores, wasm only)`, ratio: minutes / budget, target: '≤ 1', met: minutes <= budget } : {}),
  });
  const header =
    `shnet bench, ${started.toISOString()}: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; ` +
    `load average before ${loadBefore}, after ${load()}${quick ? ' (quick sizes)' : ''}` +
    (busySections.length
      ? `\nSHARED MACHINE: other processes took over ${BUSY_CORES} cores during ${busySections.join(', ')}; ratios there are ` +
        'not comparable with a quiet run (docs/performance.md, "Reading the table")'
      : '');
  console.log(header);
  console.log(formatTable(rows));
  const markdown = process.argv.indexOf('--markdown');
  if (markdown >= 0 && process.argv[markdown + 1]) writeFileSync(process.argv[markdown + 1], `${header}\n\n${formatMarkdown(rows)}\n`);
}

main();

/**
 * `npm run bench`: every benchmark section in one run, printed as ONE table of ratios (each figure against a
 * floor or a peer measured or stated in the same run). Each section runs in its own child process (its peak RSS
 * and backend state are its own) with `--json`, in this order:
 *
 *   1 backend peak   bench/backend-matmul.ts  matMul / conv2d GFLOP/s per installed backend vs numpy sgemm
 *   2 training step  bench/train-step.ts      the recipe's image + text model: steps/s, share of matMul peak, blocks
 *   3 evaluation     bench/evaluation.ts      COCO 5K similarity + ranks + metrics vs numpy sgemm; peak RSS
 *   4 inference      bench/inference.ts       image encoder images/s at batch 128 vs the PyTorch peer
 *   5 streaming      bench/npy-streaming.ts   NpyReader vs cat
 *   6 memory         bench/memory.ts          tensors and RSS over N training steps
 *   7 wasm threads   bench/wasm-threads.ts    the wasm backend on one thread vs on every core (child processes)
 *   8 search index   bench/retrieval-index.ts HNSW vs exact search at 5K images / 25K captions; shnet serve latency
 *
 * Sizes come from environment variables (each section's header lists its own). SHNET_BENCH_QUICK=1 gives a
 * run of a few minutes (batch 4, N = 1000 images, 3 memory steps, …); an explicitly set variable still wins.
 * SHNET_BENCH_SECTIONS=1,3 runs a subset. `--markdown FILE` also writes the table as Markdown.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { formatMarkdown, formatTable, parseSectionOutput, type Row } from './report';

const SECTIONS: [string, string][] = [
  ['1', 'backend-matmul'],
  ['2', 'train-step'],
  ['3', 'evaluation'],
  ['4', 'inference'],
  ['5', 'npy-streaming'],
  ['6', 'memory'],
  ['7', 'wasm-threads'],
  ['8', 'retrieval-index'],
];

const QUICK: Record<string, string> = {
  SHNET_BENCH_BATCH: '4',
  SHNET_BENCH_RUNS: '1',
  SHNET_BENCH_EVAL_IMAGES: '1000',
  SHNET_BENCH_INFER_BATCH: '16',
  SHNET_BENCH_MEMORY_STEPS: '3',
  SHNET_BENCH_MEMORY_BATCH: '2',
  SHNET_BENCH_NPY_ROWS: '300',
  SHNET_BENCH_THREADS_BATCH: '2',
  SHNET_BENCH_ROUNDS: '1',
  SHNET_BENCH_ANN_IMAGES: '1000',
  SHNET_BENCH_ANN_REQUESTS: '10',
};

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');

function main(): void {
  const env: NodeJS.ProcessEnv = { ...(process.env.SHNET_BENCH_QUICK === '1' ? QUICK : {}), ...process.env };
  const wanted = env.SHNET_BENCH_SECTIONS?.split(',').map((s) => s.trim());
  const rows: Row[] = [];
  const started = new Date();
  const loadBefore = load();
  for (const [id, script] of SECTIONS) {
    if (wanted != null && !wanted.includes(id)) continue;
    const t0 = performance.now();
    process.stderr.write(`bench: section ${id} (${script}) …`);
    try {
      const stdout = execFileSync(process.execPath, [join(__dirname, `${script}.js`), '--json'], {
        env,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const result = parseSectionOutput(stdout);
      rows.push(...result.rows);
      // Later sections compare against the backend peaks of section 1.
      if (id === '1' && result.data) env.SHNET_BENCH_PEAKS = JSON.stringify(result.data);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      rows.push({ section: `${id} ${script}`, measure: 'FAILED', value: (e.stderr ?? e.message).trim().split('\n').slice(-3).join(' / ') });
    }
    process.stderr.write(` ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  const header =
    `shnet bench, ${started.toISOString()}: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; ` +
    `load average before ${loadBefore}, after ${load()}${env.SHNET_BENCH_QUICK === '1' ? ' (quick sizes)' : ''}`;
  console.log(header);
  console.log(formatTable(rows));
  const markdown = process.argv.indexOf('--markdown');
  if (markdown >= 0 && process.argv[markdown + 1]) writeFileSync(process.argv[markdown + 1], `${header}\n\n${formatMarkdown(rows)}\n`);
}

main();

/**
 * matMul throughput of every available tfjs backend, with numpy's float32 GEMM as the floor to compare against.
 * Run: npx ts-node --transpile-only bench/backend-matmul.ts
 *
 * Rows: each installed backend, plus wasm as shipped (before shnet's kernels) to show what the kernels change.
 * Columns: 1024³ plain product and 512³ with transposeB (the shape of every matMul gradient), in GFLOP/s
 * (median of timed runs after a warm-up, ending with a read-back), and the 1024³ figure as a share of numpy's.
 */
import { tf } from '../core/backend/tf';
import { installedBackends, selectBackend } from '../core/backend/select';
import { loadWasmPackage } from '../core/backend/wasm-kernels/wasm-backend';
import { runPython } from '../test/support/python-env';

interface Workload {
  label: string;
  n: number;
  transposeB: boolean;
}

const WORKLOADS: Workload[] = [
  { label: '1024³', n: 1024, transposeB: false },
  { label: '512³ transposeB', n: 512, transposeB: true },
];

/** Median GFLOP/s of `runs` products after one warm-up. Nothing large is returned from tidy (it would be walked). */
function gflops({ n, transposeB }: Workload, runs: number): number {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const once = () => {
    const started = performance.now();
    tf.tidy(() => {
      tf.matMul(a, b, false, transposeB).dataSync();
    });
    return performance.now() - started;
  };
  once();
  const times = Array.from({ length: runs }, once).sort((x, y) => x - y);
  tf.dispose([a, b]);
  return (2 * n ** 3) / (times[Math.floor(runs / 2)] * 1e6);
}

function numpyGflops(): { version: string; gflops: number } {
  const out = runPython(`
import time, numpy as np
a = np.random.default_rng(1).standard_normal((1024, 1024), dtype=np.float32)
b = np.random.default_rng(2).standard_normal((1024, 1024), dtype=np.float32)
a @ b
times = []
for _ in range(7):
    t0 = time.perf_counter(); a @ b; times.append(time.perf_counter() - t0)
times.sort()
print(np.__version__, 2 * 1024**3 / times[len(times) // 2] / 1e9)
`);
  const [version, value] = out.trim().split(' ');
  return { version, gflops: Number(value) };
}

async function main(): Promise<void> {
  const rows: Array<{ name: string; values: number[] }> = [];
  const measure = (name: string, runs: number) => rows.push({ name, values: WORKLOADS.map((w) => gflops(w, runs)) });

  loadWasmPackage();
  await tf.setBackend('wasm');
  measure('wasm (as shipped)', 5);

  for (const name of installedBackends()) {
    try {
      await selectBackend(name);
    } catch (err) {
      console.log(`${name}: skipped (${(err as Error).message})`);
      continue;
    }
    measure(name === 'wasm' ? 'wasm (shnet kernels)' : name, name === 'cpu' ? 2 : 5);
  }

  const numpy = numpyGflops();
  rows.push({ name: `numpy ${numpy.version}`, values: [numpy.gflops, NaN] });

  const header = ['backend', ...WORKLOADS.map((w) => `${w.label} GFLOP/s`), '1024³ vs numpy'];
  const cells = rows.map(({ name, values }) => [
    name,
    ...values.map((v) => (Number.isNaN(v) ? '—' : v.toFixed(2))),
    `${((100 * values[0]) / numpy.gflops).toFixed(1)} %`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  for (const row of [header, widths.map((w) => '-'.repeat(w)), ...cells]) {
    console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

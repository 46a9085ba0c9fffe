/**
 * Section 1 of `npm run bench`, backend peak: matMul and conv2d throughput of every installed tfjs backend, with
 * numpy's float32 GEMM (sgemm) as the floor to compare against.
 * Run alone: node dist/bench/backend-matmul.js (SHNET_BENCH_BACKENDS=wasm,tensorflow to choose backends)
 *
 * Workloads (GFLOP/s: median of timed runs after a warm-up, each ending with a read-back):
 * - matMul 1024³, plain `a·b` (2·1024³ FLOPs);
 * - matMul 512³ with transposeB (the shape of every matMul gradient);
 * - conv2d 3×3 'same', [8, 64, 64, 64] → 64 channels, forward + both gradients (dx, dW): 3 × 2·8·64²·9·64·64 FLOPs.
 * Rows also show wasm as shipped (the package's single-threaded build without shnet's kernels, measured in a child
 * process because a process holds one wasm module) for the transposed matMul, to show what the kernels change.
 * Native backends are measured last: TensorFlow's own thread pool keeps spinning after its kernels and would slow
 * whatever runs next on the same cores.
 */
import { execFileSync } from 'node:child_process';
import { tf } from '../core/backend/tf';
import { describeBackend, installedBackends, selectBackend, type BackendName } from '../core/backend/select';
import { loadWasmPackage } from '../core/backend/wasm-kernels/wasm-backend';
import { runPython } from '../test/support/python-env';
import { medianMs } from './model';
import { fmt, runSection, type Row, type SectionResult } from './report';

const SECTION = '1 backend peak';

/** GFLOP/s of an n³ matMul. */
export function matmulGflops(n: number, transposeB: boolean, runs: number): number {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const ms = medianMs(runs, () => tf.tidy(() => void tf.matMul(a, b, false, transposeB).dataSync()));
  tf.dispose([a, b]);
  return (2 * n ** 3) / (ms * 1e6);
}

/** GFLOP/s of conv2d 3×3 'same' on [8, 64, 64, 64] → 64, forward and both gradients. */
export function conv2dGflops(runs: number): number {
  const [b, hw, c] = [8, 64, 64];
  const x = tf.randomNormal([b, hw, hw, c], 0, 1, 'float32', 3) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, c, c], 0, 0.1, 'float32', 4) as tf.Tensor4D;
  const grad = tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
    tf
      .conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 1, 'same')
      .square()
      .sum(),
  );
  const ms = medianMs(runs, () =>
    tf.tidy(() => {
      const [dx, dw] = grad([x, w]);
      dx.dataSync();
      dw.dataSync();
    }),
  );
  tf.dispose([x, w]);
  return (3 * 2 * b * hw * hw * 9 * c * c) / (ms * 1e6);
}

/** numpy's float32 GEMM of `[m, k] · [k, n]`: GFLOP/s, seconds, version (median of `runs`). */
export function numpySgemm(m: number, k: number, n: number, runs: number): { version: string; gflops: number; seconds: number } {
  const out = runPython(
    `
import sys, time, numpy as np
m, k, n, runs = map(int, sys.argv[1:5])
a = np.random.default_rng(1).standard_normal((m, k), dtype=np.float32)
b = np.random.default_rng(2).standard_normal((k, n), dtype=np.float32)
a @ b
times = []
for _ in range(runs):
    t0 = time.perf_counter(); a @ b; times.append(time.perf_counter() - t0)
times.sort()
t = times[len(times) // 2]
print(np.__version__, 2 * m * k * n / t / 1e9, t)
`,
    [String(m), String(k), String(n), String(runs)],
  );
  const [version, value, seconds] = out.trim().split(' ');
  return { version, gflops: Number(value), seconds: Number(seconds) };
}

/** The backends to measure: SHNET_BENCH_BACKENDS (comma-separated) or every installed one. */
export function benchBackends(): BackendName[] {
  const wanted = process.env.SHNET_BENCH_BACKENDS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const installed = installedBackends();
  return wanted == null ? installed : installed.filter((b) => wanted.includes(b));
}

const bestKey = (backend: string) => `${backend} best`;

/**
 * The fastest matMul rate section 1 measured on `backend` (GFLOP/s, the better of its two products), from
 * SHNET_BENCH_PEAKS as bench/index.ts passes it on, else measured now on the active backend. Sections 3 and 4 divide
 * a workload's FLOPs by it: the time no implementation on that backend can beat by computing the same products.
 */
export function bestMatmulGflops(backend: string): number {
  const peaks = JSON.parse(process.env.SHNET_BENCH_PEAKS ?? '{}') as Record<string, number>;
  return peaks[bestKey(backend)] ?? Math.max(matmulGflops(1024, false, 3), matmulGflops(512, true, 3));
}

export async function backendPeaks(): Promise<SectionResult> {
  const numpy = numpySgemm(1024, 1024, 1024, 7);
  const floor = `numpy ${numpy.version} sgemm ${fmt(numpy.gflops)} GFLOP/s`;
  const rows: Row[] = [{ section: SECTION, measure: 'numpy sgemm 1024³ (the floor, 2 threads)', value: `${fmt(numpy.gflops)} GFLOP/s` }];
  const data: Record<string, number> = { numpy: numpy.gflops };
  const add = (name: string, what: string, gf: number) =>
    rows.push({ section: SECTION, measure: `${name}: ${what}`, value: `${fmt(gf)} GFLOP/s`, against: floor, ratio: gf / numpy.gflops });

  const backends = benchBackends().sort((x, y) => Number(x.startsWith('tensorflow')) - Number(y.startsWith('tensorflow')));
  if (backends.includes('wasm')) add('wasm as shipped', 'matMul 512³ transposeB', asShipped());
  for (const name of backends) {
    let label: string = name;
    try {
      const info = await selectBackend(name);
      if (name === 'wasm') label = describeBackend(info).replace(/^wasm \(([^,)]*).*$/, 'wasm, $1');
    } catch (err) {
      rows.push({ section: SECTION, measure: `${name}: skipped`, value: (err as Error).message });
      continue;
    }
    const slow = name === 'cpu';
    // 20 runs: a native backend's 1024³ product takes 11–22 ms, and a median of 5 read anywhere from 98 to 186
    // GFLOP/s on a quiet machine, which every later ratio against the peak inherits.
    const peak = matmulGflops(1024, false, slow ? 1 : 20);
    const transposed = matmulGflops(512, true, slow ? 1 : 20);
    data[name] = peak;
    data[bestKey(name)] = Math.max(peak, transposed);
    add(label, 'matMul 1024³', peak);
    add(label, 'matMul 512³ transposeB', transposed);
    if (!slow) add(label, 'conv2d 3×3 fwd+bwd [8,64,64,64]→64', conv2dGflops(3)); // cpu: ~20 s a run
  }
  return { rows, data };
}

/** GFLOP/s of the transposed 512³ matMul on the package's own single-threaded wasm build, in a child process. */
function asShipped(): number {
  const stdout = execFileSync(process.execPath, [__filename, '--as-shipped'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return Number(stdout.trim().split('\n').pop());
}

async function printAsShipped(): Promise<void> {
  loadWasmPackage();
  await tf.setBackend('wasm');
  console.log(matmulGflops(512, true, 3));
}

if (require.main === module) {
  if (process.argv.includes('--as-shipped')) void printAsShipped();
  else runSection(backendPeaks);
}

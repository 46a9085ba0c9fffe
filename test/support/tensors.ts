/**
 * Tensor helpers for tests: deterministic inputs, running the same computation on several backends,
 * comparing results, and checking that code does not leak tensors.
 */
import { strict as assert } from 'node:assert';
import { tf } from '../../core/backend/tf';
import { installedBackends, selectBackend, type BackendName } from '../../core/backend/select';
import { disposeAll } from '../../core/backend/tidy';

/** The backends every backend test runs on here: the reference (cpu) first. */
export const TEST_BACKENDS = ['cpu', 'wasm'] as const;
export type TestBackend = (typeof TEST_BACKENDS)[number];

/**
 * The native backend when it is installed (`npm run native`), else nothing: suites that pass
 * `[...TEST_BACKENDS.slice(1), ...nativeTestBackends()]` to {@link assertSameOnBackends} then also compare it with cpu,
 * and pass the same without it.
 */
export function nativeTestBackends(): BackendName[] {
  return installedBackends().filter((name) => name === 'tensorflow');
}

/** `n` reproducible values in [-1, 1) (a 32-bit LCG), the same on every backend and every run. */
export function seededValues(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

/** A float32 tensor of `shape` filled with {@link seededValues}. */
export function seededTensor(shape: number[], seed = 1): tf.Tensor {
  return tf.tensor(
    seededValues(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  );
}

/**
 * Mocha hooks for a suite that switches backends: registers the wasm kernels once, and puts back the backend that
 * was active before the suite (cpu when none was) so suites that follow see what they expect.
 */
export function restoreBackendAfterSuite(): void {
  let found: string | null = null;
  before(async () => {
    found = tf.engine().backendName;
    await selectBackend('wasm');
  });
  after(async () => {
    await tf.setBackend(found ?? 'cpu');
  });
}

/** Runs `compute` on `backend` and reads its tensors back as plain arrays (tensors are disposed). */
export async function computeOn(backend: TestBackend | BackendName, compute: () => tf.Tensor | tf.Tensor[]): Promise<number[][]> {
  if (tf.engine().registryFactory[backend] == null) await selectBackend(backend); // a native backend registers on load
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not initialise`);
  return tf.tidy(() => {
    const out = compute();
    return (Array.isArray(out) ? out : [out]).map((t) => Array.from(t.dataSync()));
  });
}

/**
 * Asserts `actual` ≈ `expected` elementwise: |a − e| ≤ atol + rtol·|e|. The message names the worst element.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-4, atol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Asserts that `compute` gives the same tensors on `backends` (default: every test backend but cpu) as on cpu. */
export async function assertSameOnBackends(
  what: string,
  compute: () => tf.Tensor | tf.Tensor[],
  rtol = 1e-4,
  atol = 1e-5,
  backends: readonly (TestBackend | BackendName)[] = TEST_BACKENDS.slice(1),
): Promise<void> {
  const reference = await computeOn('cpu', compute);
  for (const backend of backends) {
    const got = await computeOn(backend, compute);
    assert.equal(got.length, reference.length, `${what} on ${backend}: ${got.length} outputs, cpu gave ${reference.length}`);
    got.forEach((values, i) => assertClose(values, reference[i], `${what} on ${backend}, output ${i}`, rtol, atol));
  }
}

/**
 * Runs `fn` twice and asserts that the second run leaves `tf.memory().numTensors` where it found it (the first run
 * may create lasting state such as lazily built weights). It also counts the backend's data buffers, which catches
 * kernels that leak intermediate buffers no tensor refers to. Tensors `fn` returns are disposed after each run.
 */
export async function expectNoLeak(fn: () => unknown, what = 'fn'): Promise<void> {
  const counts = () => ({ tensors: tf.memory().numTensors, buffers: tf.backend().numDataIds() });
  disposeAll(await fn());
  const before = counts();
  disposeAll(await fn());
  const after = counts();
  assert.deepEqual(after, before, `${what} leaked on ${tf.getBackend()}: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
}

/**
 * Choosing the tfjs backend shnet computes on. `auto` takes the best backend that is installed, initialises and
 * passes a smoke test; an explicit name must do all three or selection fails with the reason.
 *
 * The native backends come from optional peer dependencies (`@tensorflow/tfjs-node[-gpu]`, which need
 * libtensorflow and are often not installable): they are detected with `require.resolve` and loaded with a runtime
 * `require`, so neither the build nor the tests need them.
 */
import { availableParallelism } from 'node:os';
import type { BackendInfo } from '../contracts/services';
import { tf } from './tf';
import { registerWasmKernels } from './wasm-kernels';
import { threadedWasmFallback, useThreadedWasm, MAX_WASM_THREADS } from './wasm-kernels/threaded-wasm';
import { loadWasmPackage } from './wasm-kernels/wasm-backend';

/**
 * Environment for one of `processes` shnet processes sharing this machine: each gets an equal share of the cores
 * for its wasm threads (at least one), so that N parallel trials do not each start a thread per core and fight
 * over them (a thread pool whose threads are descheduled waits for the slowest one on every kernel). A value the
 * user set already is kept.
 */
export function wasmThreadsShare(processes: number, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (env.SHNET_WASM_THREADS != null && env.SHNET_WASM_THREADS !== '') return {};
  return { SHNET_WASM_THREADS: String(Math.max(1, Math.floor(availableParallelism() / Math.max(1, processes)))) };
}

/** Backends shnet knows, best first (the order `auto` tries them in). */
export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

/** One of {@link BACKEND_NAMES}. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** What a recipe or the CLI may ask for: a backend by name, or `auto` (the best that works). */
export const BACKEND_REQUESTS = ['auto', ...BACKEND_NAMES] as const;

/** One of {@link BACKEND_REQUESTS}. */
export type BackendRequest = (typeof BACKEND_REQUESTS)[number];

/**
 * Threads the wasm backend computes with: `SHNET_WASM_THREADS` when set (1 = the single-threaded build), else one
 * per core (at most {@link MAX_WASM_THREADS}). Read when the wasm backend is first initialised in a process.
 */
export function wasmThreadsWanted(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SHNET_WASM_THREADS;
  if (raw == null || raw === '') return Math.min(MAX_WASM_THREADS, availableParallelism());
  const threads = Number(raw);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`SHNET_WASM_THREADS must be a whole number ≥ 1, got '${raw}'`);
  }
  return Math.min(MAX_WASM_THREADS, threads);
}

interface Candidate {
  name: BackendName;
  /** The name the backend registers under in tfjs (both native packages register 'tensorflow'). */
  tfjsName: string;
  /** The npm package providing it, when it is not always present. */
  optionalPackage?: string;
  /** Loads the package (and registers anything that must precede initialisation). */
  load(): void;
  describe(): Promise<Pick<BackendInfo, 'threads' | 'simd' | 'note'>>;
}

const native = (name: BackendName, pkg: string): Candidate => ({
  name,
  tfjsName: 'tensorflow',
  optionalPackage: pkg,
  load: () => require(pkg),
  describe: async () => ({ threads: availableParallelism() }),
});

const CANDIDATES: Record<BackendName, Candidate> = {
  'tensorflow-gpu': native('tensorflow-gpu', '@tensorflow/tfjs-node-gpu'),
  tensorflow: native('tensorflow', '@tensorflow/tfjs-node'),
  wasm: {
    name: 'wasm',
    tfjsName: 'wasm',
    load: () => {
      registerWasmKernels();
      useThreadedWasm(wasmThreadsWanted());
    },
    describe: async () => {
      const fallback = threadedWasmFallback();
      return {
        threads: loadWasmPackage().getThreadsCount(),
        simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean,
        ...(fallback == null ? {} : { note: `single-threaded: ${fallback}` }),
      };
    },
  },
  cpu: { name: 'cpu', tfjsName: 'cpu', load: () => {}, describe: async () => ({ threads: 1 }) },
};

/** Why a package cannot be loaded, or undefined when it resolves. */
function missingPackage(candidate: Candidate): string | undefined {
  if (candidate.optionalPackage == null) return undefined;
  try {
    require.resolve(candidate.optionalPackage);
    return undefined;
  } catch {
    return `${candidate.optionalPackage} is not installed (optional peer dependency)`;
  }
}

/** Backends whose packages are present (not yet initialised or tested), best first. */
export function installedBackends(): BackendName[] {
  return BACKEND_NAMES.filter((name) => missingPackage(CANDIDATES[name]) == null);
}

/** [[1, 2], [3, 4]] × [[5, 6], [7, 8]]: a product every working backend gets exactly right. */
function smokeTest(): string | undefined {
  const expected = [19, 22, 43, 50];
  const got = tf.tidy(() => {
    const product = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2]));
    return Array.from(product.dataSync());
  });
  if (got.every((v, i) => v === expected[i])) return undefined;
  return `2×2 matmul smoke test gave [${got}], expected [${expected}]`;
}

/** Makes `candidate` the active backend; returns why it cannot be, or undefined on success. */
async function activate(candidate: Candidate): Promise<string | undefined> {
  const missing = missingPackage(candidate);
  if (missing != null) return missing;
  try {
    candidate.load();
  } catch (err) {
    return `failed to load: ${(err as Error).message}`;
  }
  try {
    if (!(await tf.setBackend(candidate.tfjsName))) return 'failed to initialise (tfjs logged the cause above)';
  } catch (err) {
    return `failed to initialise: ${(err as Error).message}`;
  }
  try {
    return smokeTest();
  } catch (err) {
    return `smoke test failed: ${(err as Error).message}`;
  }
}

let selected: { request: BackendRequest; tfjsName: string; info: BackendInfo } | undefined;

/**
 * Selects and initialises a backend. Repeating the request that is already in effect returns at once.
 * Throws when an explicit backend is unavailable (naming why and listing the installed ones), and for `auto`
 * only if not even cpu works.
 */
export async function selectBackend(request: BackendRequest = 'auto'): Promise<BackendInfo> {
  if (selected?.request === request && tf.engine().backendName === selected.tfjsName) return selected.info;
  if (!(BACKEND_REQUESTS as readonly string[]).includes(request)) {
    throw new Error(`Unknown backend '${request}'. Known: ${BACKEND_REQUESTS.join(', ')}`);
  }
  const previous = tf.engine().backendName;
  const tried = request === 'auto' ? BACKEND_NAMES : [request];
  const skipped: string[] = [];
  for (const name of tried) {
    const candidate = CANDIDATES[name];
    const failure = await activate(candidate);
    if (failure == null) {
      const info: BackendInfo = { name, ...(await candidate.describe()), ...(skipped.length > 0 ? { reason: skipped } : {}) };
      selected = { request, tfjsName: candidate.tfjsName, info };
      return info;
    }
    if (request !== 'auto') {
      if (previous != null && tf.engine().registry[previous] != null) await tf.setBackend(previous);
      throw new Error(`Backend '${name}' is not available: ${failure}. Installed: ${installedBackends().join(', ')} (or 'auto')`);
    }
    skipped.push(`${name}: ${failure}`);
  }
  throw new Error(`No tfjs backend works: ${skipped.join('; ')}`);
}

/** One line for logs: `wasm (1 thread, SIMD); skipped tensorflow-gpu: …; tensorflow: …`. */
export function describeBackend(info: BackendInfo): string {
  const features = [`${info.threads} thread${info.threads === 1 ? '' : 's'}`];
  if (info.simd != null) features.push(info.simd ? 'SIMD' : 'no SIMD');
  if (info.note != null) features.push(info.note);
  const skipped = info.reason == null ? '' : `; skipped ${info.reason.join('; ')}`;
  return `${info.name} (${features.join(', ')})${skipped}`;
}

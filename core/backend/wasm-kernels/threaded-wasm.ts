/**
 * The wasm backend on several threads in Node.
 *
 * `@tensorflow/tfjs-backend-wasm` ships a threaded SIMD build (XNNPACK on a pthreadpool of Emscripten workers), but
 * never uses it in Node: its `WASM_HAS_MULTITHREAD_SUPPORT` flag is hard-wired to false there, and forcing it fails
 * because the worker script and the main script are handed over as `blob:` URLs, which `worker_threads` cannot
 * load (tensorflow/tfjs#3830). The Emscripten runtime itself supports Node workers (its worker script has a Node
 * branch that reads `importScripts` targets from disk). So this module instantiates the threaded build itself,
 * giving Emscripten real files instead of blobs:
 *  - the worker script (the package exports it as a string) is written once to a file named after its hash;
 *  - the main script is the package's own `wasm-out/tfjs-backend-wasm-threaded-simd.js` on disk.
 *
 * Two more things stand between the build and a second thread on a two-core machine:
 *  - the C++ side caps its pool at `emscripten_num_logical_cores() / 2` (it assumes two hyper-threads per core)
 *    and reads that once at start-up; instantiation here answers that import with twice the wanted thread count,
 *    so the cap is the count asked for. Nothing else calls it.
 *  - pool threads keep a reference on Node's event loop, so a finished process would never exit; they are
 *    unreferenced once the pool exists (they only ever wait for work from the main thread).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { tf } from '../tf';
import { loadWasmPackage, WASM } from './wasm-backend';
import { writeFileAtomic } from '../../atomic-write';

/** Emscripten's preallocated worker pool in this build (PTHREAD_POOL_SIZE): more threads would spawn lazily. */
export const MAX_WASM_THREADS = 8;

/** The Emscripten module object, as far as this file uses it. */
interface EmscriptenModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  PThread: { runningWorkers: Array<{ unref(): void }> };
  tfjs?: unknown;
}

/** How long the worker pool may take to start before the stock build is used instead. */
const START_TIMEOUT_MS = 60_000;

/** The parts of the WebAssembly JS API used here (shnet compiles without the DOM lib that declares them). */
interface WasmApi {
  instantiate(binary: Uint8Array, imports: object): Promise<{ instance: object; module: object }>;
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type ModuleFactory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

const INSTALLED = Symbol.for('shnet.threadedWasm');

interface ThreadedState {
  /** Threads asked for. */
  threads: number;
  /** Why the threaded build was not used, when it was not (the stock single-threaded build ran instead). */
  fallback?: string;
}

function packageFile(relative: string): string {
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), relative);
}

/**
 * Writes the pthread worker script to the temp folder (once per content: the name carries its hash) and returns
 * its path. Newlines inside its string literals were turned into real ones when the package embedded the script
 * in a template literal; they are escaped back, as the package does for its blob.
 */
function workerScriptFile(): string {
  const { wasmWorkerContents } = require(packageFile('wasm-out/tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  const source = wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const path = join(tmpdir(), `shnet-tfjs-wasm-worker-${hash}.js`);
  if (!existsSync(path)) writeFileAtomic(path, source);
  return path;
}

/** Instantiates the threaded build with `threads` pool threads and wraps it as tfjs's BackendWasm. */
async function createThreadedBackend(threads: number): Promise<tf.KernelBackend> {
  const wasmPackage = loadWasmPackage();
  const factory = require(packageFile('wasm-out/tfjs-backend-wasm-threaded-simd.js')) as ModuleFactory;
  const workerScript = workerScriptFile();
  const binary = readFileSync(packageFile('dist/tfjs-backend-wasm-threaded-simd.wasm'));
  // Emscripten reports a failed start through onAbort or a worker error, not always by rejecting: both end the
  // wait here, and so does a pool that never comes up.
  let fail!: (reason: Error) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const timer = setTimeout(() => fail(new Error(`workers did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
  let module: EmscriptenModule;
  try {
    module = await Promise.race([
      factory({
        locateFile: (path: string) => (path.endsWith('.worker.js') ? workerScript : path),
        mainScriptUrlOrBlob: packageFile('wasm-out/tfjs-backend-wasm-threaded-simd.js'),
        onAbort: (what: unknown) => fail(new Error(`aborted: ${String(what)}`)),
        instantiateWasm: (imports: { env: Record<string, unknown> }, receive: (instance: object, compiled: object) => void) => {
          imports.env.emscripten_num_logical_cores = () => 2 * threads;
          WebAssemblyApi.instantiate(binary, imports).then(
            ({ instance, module: compiled }) => receive(instance, compiled),
            (err: Error) => fail(err),
          );
          return {};
        },
      }),
      failed,
    ]);
  } finally {
    clearTimeout(timer);
  }
  // The same bridge the package builds around its own module (backend_wasm.ts, init()).
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  wasmPackage.setThreadsCount(threads);
  const backend = new wasmPackage.BackendWasm(module as never);
  for (const worker of module.PThread.runningWorkers) worker.unref();
  return backend;
}

/**
 * Makes the 'wasm' backend use the threaded build with `threads` threads (1 keeps the stock build). Call before the
 * wasm backend is first initialised; a second call with another count before that replaces the first. If the
 * threaded build cannot start (no SharedArrayBuffer, a worker error), the stock single-threaded build runs and
 * {@link threadedWasmFallback} says why.
 */
export function useThreadedWasm(threads: number): void {
  loadWasmPackage();
  const engine = tf.engine();
  const entry = engine.registryFactory[WASM] as ({ factory: () => Promise<tf.KernelBackend>; priority: number } & { [INSTALLED]?: ThreadedState }) | undefined;
  if (entry == null) throw new Error("the 'wasm' backend is not registered");
  const state = (entry[INSTALLED] ??= installFactory(entry));
  state.threads = Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(threads)));
}

function installFactory(entry: { factory: () => Promise<tf.KernelBackend> }): ThreadedState {
  const stock = entry.factory;
  const state: ThreadedState = { threads: 1 };
  entry.factory = async () => {
    state.fallback = undefined;
    if (state.threads <= 1) return stock();
    if (typeof SharedArrayBuffer !== 'function') {
      state.fallback = 'SharedArrayBuffer is not available';
      return stock();
    }
    try {
      return await createThreadedBackend(state.threads);
    } catch (err) {
      state.fallback = `threaded build failed to start: ${(err as Error).message ?? err}`;
      return stock();
    }
  };
  return state;
}

/** Why the last initialisation of 'wasm' ran single-threaded although more threads were asked for, if it did. */
export function threadedWasmFallback(): string | undefined {
  const entry = tf.engine().registryFactory[WASM] as { [INSTALLED]?: ThreadedState } | undefined;
  return entry?.[INSTALLED]?.fallback;
}

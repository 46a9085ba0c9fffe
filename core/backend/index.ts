/** The TensorFlow.js backend layer: loading tfjs, choosing a backend, and what tfjs lacks for training 3SHNet. */
export { tf } from './tf';
export { BACKEND_NAMES, describeBackend, installedBackends, selectBackend, wasmThreadsWanted } from './select';
export type { BackendInfo, BackendName, BackendRequest } from './select';
export { registerWasmKernels } from './wasm-kernels';
export { sortDescending, sortDescendingWithIndices } from './differentiable-sort';
export { assertAllocationFits, DEFAULT_WASM_SAFE_BYTES, setWasmSafeLimit, wasmSafeLimit } from './memory-guard';
export { disposeAll } from './tidy';

/**
 * What shnet's wasm kernels need from the wasm backend: its heap views and kernels to call from inside a kernel.
 * Kernels called this way run untaped and untracked, so every TensorInfo they return is released by hand.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../tf';

export type { BackendWasm };

/** The backend name the kernels in this folder register under. */
export const WASM = 'wasm';

/** The arguments tfjs passes to a kernel function, with the backend narrowed to the wasm backend. */
export interface WasmKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: tf.NamedAttrMap;
}

/** The kernel registered for `name` on wasm right now; throws when there is none. */
export function wasmKernel(name: string): tf.KernelConfig {
  const kernel = tf.getKernel(name, WASM);
  if (kernel == null) {
    throw new Error(`wasm kernel '${name}' is not registered (is @tensorflow/tfjs-backend-wasm loaded?)`);
  }
  return kernel;
}

/** Runs the wasm kernel `name`. The caller owns the result and frees it with {@link release}. */
export function runWasmKernel(name: string, backend: BackendWasm, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
  return wasmKernel(name).kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

/** Frees TensorInfos produced by {@link runWasmKernel} (reshapes share data and only drop a reference). */
export function release(backend: BackendWasm, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** A reshape that shares `x`'s data (one more reference, released like any other result). */
export function reshapeInfo(backend: BackendWasm, x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return runWasmKernel('Reshape', backend, { x }, { shape });
}

/**
 * Wraps a kernel input as a Tensor so a kernel can be written with ops. Disposing a tensor releases one backend
 * reference to its data, so the wrapper takes its own reference: disposing it leaves the caller's input intact.
 */
export function asTensor(backend: BackendWasm, input: tf.TensorInfo): tf.Tensor {
  backend.incRef(input.dataId);
  return tf.engine().makeTensorFromTensorInfo(input, backend);
}

/** Turns a tensor computed inside a kernel into the kernel's output: the output keeps the data, the wrapper goes. */
export function asKernelOutput(backend: BackendWasm, result: tf.Tensor): tf.TensorInfo {
  backend.incRef(result.dataId);
  const output = { dataId: result.dataId, shape: result.shape, dtype: result.dtype };
  result.dispose();
  return output;
}

/**
 * Replaces the wasm kernel `name` with `wrap(original)`, keeping the original's setup and dispose functions
 * (they bind the C++ entry points when the backend initialises).
 */
export function replaceWasmKernel(name: string, wrap: (original: tf.KernelFunc) => (args: WasmKernelArgs) => tf.TensorInfo | tf.TensorInfo[]): void {
  const original = wasmKernel(name);
  // A second copy of this module (sources and compiled output in one process) must not wrap the wrapper.
  if ((original.kernelFunc as { [REPLACED]?: true })[REPLACED]) return;
  const kernelFunc = Object.assign(wrap(original.kernelFunc), { [REPLACED]: true as const });
  tf.unregisterKernel(name, WASM);
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

const REPLACED = Symbol.for('shnet.replacedWasmKernel');

/**
 * Loads `@tensorflow/tfjs-backend-wasm`, which registers the 'wasm' backend and its kernels with tfjs-core.
 * Loaded on demand, not at import time: once registered, wasm outranks cpu as tfjs's implicit default, and that
 * default cannot initialise synchronously.
 */
export function loadWasmPackage(): typeof import('@tensorflow/tfjs-backend-wasm') {
  return require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
}

/** Registers a kernel that is written in JavaScript over the wasm heap or in terms of other kernels. */
export function addWasmKernel(name: string, kernelFunc: (args: WasmKernelArgs) => tf.TensorInfo): void {
  tf.registerKernel({ kernelName: name, backendName: WASM, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

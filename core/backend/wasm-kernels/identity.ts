/**
 * `Identity` for wasm that shares its input's memory, as the cpu backend's does. tfjs-core clones every tensor it
 * saves for the backward pass through this kernel, and the stock wasm kernel copies: in training every saved
 * activation and every weight used in a product existed twice on the heap until the backward pass ended (half of
 * the image encoder's peak at batch 32), and was copied once more per step. No tfjs or shnet kernel writes into its
 * inputs, and a tensor's data never changes after it is made (a variable's `assign` swaps data, it does not write
 * it), so sharing is safe; it is what `Reshape` already does on wasm.
 */
import { type tf } from '../tf';
import { replaceWasmKernel, type WasmKernelArgs } from './wasm-backend';

function sharedIdentity({ inputs, backend }: WasmKernelArgs): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Replaces the stock (copying) kernel. Strings keep it: their values live outside the heap. */
export function replaceIdentityKernel(): void {
  replaceWasmKernel(
    'Identity',
    (original) => (args) => ((args.inputs.x as tf.TensorInfo).dtype === 'string' ? (original(args) as tf.TensorInfo) : sharedIdentity(args)),
  );
}

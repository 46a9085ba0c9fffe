/**
 * shnet's additions to the wasm backend: the kernels training needs that wasm lacks, matmul routed onto XNNPACK,
 * slicing kernels that copy only the slice, and a faster transpose of the last two axes. Call
 * {@link registerWasmKernels} before `tf.setBackend('wasm')`, so that the kernels' setup functions run when the
 * backend initialises; {@link selectBackend} does.
 *
 * Coverage against what a 3SHNet model runs (checked op by op, forward and backward, in
 * `test/core/backend/op-coverage.test.ts`): of the 16 kernels cpu has and wasm lacks (docs/architecture.md, Backends), the
 * model needs `UnsortedSegmentSum` (gather gradient) and `Conv2DBackpropFilter` (conv weight gradient). The rest are
 * complex numbers, FFT, ragged tensors, strings, `Draw`, `Einsum` (shnet writes einsums as matMul) and depthwise
 * convolution gradients, none of which the model uses.
 */
import { rerouteMatMulKernels } from './batch-mat-mul';
import { registerConv2DBackpropFilter } from './conv2d-backprop-filter';
import { replaceSliceKernels } from './slice';
import { replaceTransposeKernel } from './transpose';
import { registerUnsortedSegmentSum } from './unsorted-segment-sum';
import { loadWasmPackage } from './wasm-backend';

export { SPLIT_MIN_MULTIPLY_ADDS } from './batch-mat-mul';

/** Registers shnet's wasm kernels (loading the wasm package first). Idempotent. */
export function registerWasmKernels(): void {
  loadWasmPackage();
  registerUnsortedSegmentSum();
  registerConv2DBackpropFilter();
  rerouteMatMulKernels();
  replaceSliceKernels();
  replaceTransposeKernel();
}

/**
 * A guard for the wasm heap. The wasm backend's heap tops out near 3.6 GiB and an allocation past that does not
 * fail: malloc returns 0 and the new tensor silently overwrites the first one (docs/architecture.md, Backends). Code that
 * allocates big tensors (similarity matrices, feature banks) asks first, and chunks its work when refused.
 *
 * Only wasm enforces the limit. Native backends allocate from process memory and fail loudly; cpu is for tests.
 */
import { totalmem } from 'node:os';
import { UsageError } from '../errors';
import { tf } from './tf';

const GIB = 1024 ** 3;

/** The default safe limit on live tensor bytes under wasm: 3.0 GiB, leaving headroom below the ~3.6 GiB ceiling. */
export const DEFAULT_WASM_SAFE_BYTES = 3 * GIB;

let wasmSafeBytes = DEFAULT_WASM_SAFE_BYTES;

/** Changes the limit for the whole process (for example from a recipe's runtime section). */
export function setWasmSafeLimit(bytes: number): void {
  if (!(bytes > 0)) throw new Error(`The wasm safe limit must be a positive number of bytes, got ${bytes}`);
  wasmSafeBytes = bytes;
}

/** The limit {@link assertAllocationFits} enforces now. */
export function wasmSafeLimit(): number {
  return wasmSafeBytes;
}

const inGiB = (bytes: number) => `${(bytes / GIB).toFixed(2)} GiB`;

/**
 * Throws, on the wasm backend, when allocating `bytes` more would take live tensor memory
 * (`tf.memory().numBytes`) past the safe limit. `what` names the allocation in the message
 * (`"similarity matrix 5000×25000"`). A no-op on every other backend.
 */
export function assertAllocationFits(bytes: number, what: string, limitBytes = wasmSafeBytes): void {
  if (tf.getBackend() !== 'wasm') return;
  const live = tf.memory().numBytes;
  if (live + bytes <= limitBytes) return;
  throw new Error(
    `Refusing to allocate ${what}: ${bytes} bytes (${inGiB(bytes)}) on top of ${live} live tensor bytes ` +
      `(${inGiB(live)}) would exceed the wasm safe limit of ${limitBytes} bytes (${inGiB(limitBytes)}); ` +
      'past ~3.6 GiB the wasm heap silently corrupts tensors. Process it in smaller chunks.',
  );
}

/**
 * The most live tensor memory a run may plan for on the current backend: the wasm safe limit under wasm, the
 * machine's physical memory elsewhere (native backends and cpu allocate from the process, and fail past it).
 */
export function tensorMemoryLimit(): number {
  return tf.getBackend() === 'wasm' ? wasmSafeBytes : totalmem();
}

/** `1.25 GiB`, `340.0 MiB`, `12.0 KiB`: a size for messages, in the largest unit it reaches. */
export function formatBytes(bytes: number): string {
  if (bytes >= GIB) return inGiB(bytes);
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/**
 * Refuses, before it is allocated, a model weight of `shape` (float32) that would take the model's weights past
 * half of the tensor memory ({@link tensorMemoryLimit}): a forward pass needs room beside the weights, and a
 * training step four more copies of them, so a model past that line can be neither trained nor safely evaluated
 * here. A {@link UsageError}: the recipe asks for a model too large for this machine, which is bad input — found
 * while the weights are drawn, instead of after minutes of initialisation or inside a corrupted wasm heap (an
 * `embedDim` of 16384 on the demo used to run silently for 300 s).
 */
export function assertWeightFits(shape: readonly number[]): void {
  const elements = shape.reduce((a, b) => a * b, 1);
  const bytes = 4 * elements;
  const live = tf.memory().numBytes;
  const budget = tensorMemoryLimit() / 2;
  // Twice the weight: its initial values, and the variable they are copied into before they are released.
  if (Number.isSafeInteger(elements) && live + 2 * bytes <= budget) return;
  throw new UsageError(
    `the model's weights do not fit: a weight of shape [${shape.join(', ')}] (${formatBytes(bytes)}) on top of ${formatBytes(live)} of ` +
      `tensors would pass ${formatBytes(budget)}, half of ${tf.getBackend() === 'wasm' ? "the wasm heap's safe limit" : "this machine's memory"} ` +
      "(the other half is for activations, gradients and optimizer state); lower the model's widths (embedDim, hidden sizes)",
  );
}

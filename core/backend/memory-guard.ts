/**
 * A guard for the wasm heap. The wasm backend's heap tops out near 3.6 GiB and an allocation past that does not
 * fail: malloc returns 0 and the new tensor silently overwrites the first one (docs/architecture.md, Backends). Code that
 * allocates big tensors (similarity matrices, feature banks) asks first, and chunks its work when refused.
 *
 * Only wasm enforces the limit. Native backends allocate from process memory and fail loudly; cpu is for tests.
 */
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

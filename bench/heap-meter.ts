/**
 * What a computation really takes of the wasm heap, for the benchmark's memory rows. `tf.memory().numBytes` (and
 * `tf.profile`'s peak) count every tensor's bytes, also when tensors share one buffer (reshapes, and every tensor
 * saved for a backward pass shares its buffer with the original), so they overstate the heap. This meter counts
 * buffers as the wasm backend allocates and frees them, and reads the heap's size, which only grows: past
 * {@link WASM_HEAP_MAX} an allocation fails (and on the single-threaded build silently corrupts a tensor).
 */
import { tf } from '../core/backend/tf';
import type { BackendWasm } from '../core/backend/wasm-kernels/wasm-backend';

/** The wasm backend's heap limit (tfjs-backend-wasm 4.22: 4 GiB − 64 KiB, its Emscripten `getHeapMax`). */
export const WASM_HEAP_MAX = 4294901760;

type DataId = object;
interface Internals {
  move(dataId: DataId, values: unknown, shape: number[], dtype: tf.DataType, refCount: number): void;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: unknown): tf.TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
  dataIdMap: { has(dataId: DataId): boolean };
  wasm: { HEAPU8: Uint8Array };
}

const bytesOf = (shape: number[], dtype: tf.DataType) =>
  dtype === 'string' ? 0 : shape.reduce((a, b) => a * b, 1) * (dtype === 'float32' || dtype === 'int32' ? 4 : 1);

/** Live and peak bytes of tensor buffers on the active wasm backend, counted from when it is attached. */
export class WasmHeapMeter {
  /** Bytes of the buffers allocated since attaching and not yet freed. */
  live = 0;
  /** The most {@link live} has been since attaching or the last {@link resetPeak}. */
  peak = 0;
  private readonly sizes = new Map<DataId, number>();

  private constructor(private readonly backend: Internals) {
    const { move, makeOutput, disposeData } = backend;
    backend.move = (dataId, values, shape, dtype, refCount) => {
      move.call(backend, dataId, values, shape, dtype, refCount);
      this.allocated(dataId, bytesOf(shape, dtype));
    };
    backend.makeOutput = (shape, dtype, memoryOffset, values) => {
      const out = makeOutput.call(backend, shape, dtype, memoryOffset, values);
      if (memoryOffset != null) this.allocated(out.dataId, bytesOf(shape, dtype)); // else move() counted it
      return out;
    };
    backend.disposeData = (dataId, force) => {
      const freed = disposeData.call(backend, dataId, force);
      if (!backend.dataIdMap.has(dataId)) this.freed(dataId);
      return freed;
    };
  }

  /** A meter on the active backend, or null when it is not wasm. Attach before the tensors it should count. */
  static attach(): WasmHeapMeter | null {
    return tf.getBackend() === 'wasm' ? new WasmHeapMeter(tf.backend() as unknown as BackendWasm as unknown as Internals) : null;
  }

  /** Bytes the heap has grown to so far (it never shrinks): buffers, fragmentation, and XNNPACK's packed weights. */
  heapBytes(): number {
    return this.backend.wasm.HEAPU8.length;
  }

  /** Starts a new peak from the live bytes now. */
  resetPeak(): void {
    this.peak = this.live;
  }

  private allocated(dataId: DataId, bytes: number): void {
    this.sizes.set(dataId, bytes);
    this.live += bytes;
    if (this.live > this.peak) this.peak = this.live;
  }

  private freed(dataId: DataId): void {
    this.live -= this.sizes.get(dataId) ?? 0;
    this.sizes.delete(dataId);
  }
}

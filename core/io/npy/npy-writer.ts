/**
 * Writing `.npy` files (format 1.0, C order, little-endian), atomically (`../atomic-write`): a reader never sees
 * a half-written array under the final name.
 */
import { AtomicFile } from '../../atomic-write';
import { encodeHeaderV1, formatShape } from './npy-header';

/** Typed arrays the writer stores, and the dtype each becomes. */
export type NpyWritable = Float32Array | Int32Array | Uint8Array;

const DESCR_OF = new Map<unknown, string>([
  [Float32Array, '<f4'],
  [Int32Array, '<i4'],
  [Uint8Array, '|u1'],
]);

/** Writes `data` (C order, `prod(shape)` elements) to `path` as an NPY v1.0 file, atomically. */
export function writeNpy(path: string, data: NpyWritable, shape: readonly number[]): void {
  const writer = NpyStreamWriter.create(path, dtypeOf(data), shape);
  try {
    writer.append(data);
    writer.finish();
  } catch (err) {
    writer.abort();
    throw err;
  }
}

/**
 * An NPY file written in pieces: the header first (the shape is known up front), then C-ordered chunks of any
 * length. {@link finish} checks that exactly `prod(shape)` elements arrived and moves the file into place;
 * {@link abort} discards it. Used to save an `[N, 5N]` similarity matrix a block of rows at a time.
 */
export class NpyStreamWriter {
  private written = 0;
  private readonly file: AtomicFile;

  private constructor(
    readonly path: string,
    readonly descr: string,
    readonly shape: readonly number[],
  ) {
    this.file = AtomicFile.open(path);
    this.file.write(encodeHeaderV1(descr, shape));
  }

  /** Starts a file of `descr` (`<f4`, `<i4` or `|u1`) and `shape`. */
  static create(path: string, descr: string, shape: readonly number[]): NpyStreamWriter {
    if (![...DESCR_OF.values()].includes(descr)) throw new Error(`${path}: cannot write dtype '${descr}'`);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${path}: invalid shape ${formatShape(shape)}`);
    return new NpyStreamWriter(path, descr, shape);
  }

  /** Elements the shape calls for. */
  get expectedElements(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Appends the next elements in C order; their type must match the file's dtype. */
  append(chunk: NpyWritable): void {
    if (!this.file.isOpen) throw new Error(`${this.path}: writer is already finished`);
    if (dtypeOf(chunk) !== this.descr) {
      throw new Error(`${this.path}: appending ${chunk.constructor.name} to a '${this.descr}' file`);
    }
    if (this.written + chunk.length > this.expectedElements) {
      throw new Error(`${this.path}: ${this.written + chunk.length} elements exceed shape ${formatShape(this.shape)}`);
    }
    this.file.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.written += chunk.length;
  }

  /** Checks the element count, flushes, and renames the temporary file to {@link path}. */
  finish(): void {
    if (!this.file.isOpen) throw new Error(`${this.path}: writer is already finished`);
    if (this.written !== this.expectedElements) {
      const message = `${this.path}: ${this.written} elements written, shape ${formatShape(this.shape)} needs ${this.expectedElements}`;
      this.abort();
      throw new Error(message);
    }
    this.file.commit();
  }

  /** Discards the partial file. Safe to call more than once, and after {@link finish}. */
  abort(): void {
    this.file.abort();
  }
}

function dtypeOf(data: NpyWritable): string {
  const descr = DESCR_OF.get(data.constructor);
  if (descr === undefined) throw new Error(`cannot write a ${data.constructor.name} as NPY (Float32Array, Int32Array, Uint8Array)`);
  return descr;
}

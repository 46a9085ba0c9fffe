/**
 * A minimal streaming `.npy` (format 1.0) writer: the header first, then rows appended chunk by chunk, so an export
 * never holds a whole array. The file appears under its name only when complete (temporary file + rename).
 * Kept local to `shapes` on purpose: plugins do not share internals.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';

// Typed arrays are written in host byte order and the header says little-endian.
if (endianness() !== 'LE') throw new Error('the .npy writer needs a little-endian host');

/** The two dtypes the exporter writes. */
export type NpyDtype = '<f4' | '|u1';

const ITEM_SIZE: Readonly<Record<NpyDtype, number>> = { '<f4': 4, '|u1': 1 };

/** The format 1.0 header for `shape` and `dtype`, padded so the data starts at a multiple of 64 bytes. */
export function npyHeader(dtype: NpyDtype, shape: readonly number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${dims}), }`;
  const preamble = 10; // magic (6) + version (2) + header length (2)
  dict += ' '.repeat(63 - ((preamble + dict.length) % 64)) + '\n';
  if (dict.length > 0xffff) throw new Error(`npy header too long for format 1.0 (${dict.length} bytes)`);
  const head = Buffer.alloc(preamble);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(dict.length, 8);
  return Buffer.concat([head, Buffer.from(dict, 'latin1')]);
}

/** Writes one array of a known shape as a sequence of row chunks. */
export class NpyStreamWriter {
  private readonly temp: string;
  private fd: number | null;
  private written = 0;
  private readonly total: number;

  constructor(
    readonly path: string,
    readonly dtype: NpyDtype,
    readonly shape: readonly number[],
  ) {
    this.total = shape.reduce((a, b) => a * b, 1);
    this.temp = `${path}.tmp-${process.pid}`;
    this.fd = openSync(this.temp, 'w');
    writeSync(this.fd, npyHeader(dtype, shape));
  }

  /** Appends elements in row-major order; `data`'s type must match the dtype. */
  write(data: Float32Array | Uint8Array): void {
    if (this.fd === null) throw new Error(`${this.path}: write after close`);
    const expected = this.dtype === '<f4' ? Float32Array : Uint8Array;
    if (!(data instanceof expected)) throw new Error(`${this.path}: ${this.dtype} needs a ${expected.name}`);
    if (this.written + data.length > this.total) {
      throw new Error(`${this.path}: more elements than shape [${this.shape.join(', ')}]`);
    }
    writeSync(this.fd, new Uint8Array(data.buffer, data.byteOffset, data.length * ITEM_SIZE[this.dtype]));
    this.written += data.length;
  }

  /** Checks the element count and moves the file into place. */
  commit(): void {
    if (this.written !== this.total) {
      this.abort();
      throw new Error(`${this.path}: wrote ${this.written} of ${this.total} elements`);
    }
    this.closeFile();
    renameSync(this.temp, this.path);
  }

  /** Drops the partial file. */
  abort(): void {
    this.closeFile();
    rmSync(this.temp, { force: true });
  }

  private closeFile(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Random access to the rows (first axis) of a `.npy` file with positioned reads: the header is read once,
 * then each request reads only the bytes of the rows it asks for. The file is never read whole, except a
 * small Fortran-ordered array (see {@link NpyOpenOptions.fortranLimitBytes}).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { convertToFloat32 } from './npy-convert';
import { NpyError, type NpyHeader, PREFIX_BYTES, formatShape, parseHeaderDict, parsePrefix } from './npy-header';
import { readFully, readFullySync } from './npy-pread';

/** Expected dimensions; `-1` or `null` accepts any size on that axis. */
export type ShapeExpectation = readonly (number | null)[];

export interface NpyOpenOptions {
  /** Checked at open: same number of axes, and every non-wildcard axis equal. */
  expectShape?: ShapeExpectation;
  /**
   * A row of a Fortran-ordered array is scattered over the whole file, so such an array is read whole once and
   * reordered to C order in memory. Allowed only while its float32 copy is at most this many bytes
   * (default 256 MiB); larger ones are refused with advice to re-save them C-ordered.
   */
  fortranLimitBytes?: number;
}

/** Default for {@link NpyOpenOptions.fortranLimitBytes}. */
export const FORTRAN_LIMIT_BYTES = 256 * 1024 * 1024;

/** One positioned read of float32 data straight into the output is never larger than this. */
const MAX_READ_BYTES = 32 * 1024 * 1024;
/**
 * One read of a dtype that needs converting goes through a scratch buffer of at most this size (or one row, if a row
 * is larger). The reader keeps its scratch buffers, so steady-state reads touch no fresh memory (no page faults).
 */
const SCRATCH_BYTES = 4 * 1024 * 1024;
/**
 * Reads the async path keeps in flight at once. More than libuv's 4 file-system threads, so that a thread that
 * finishes a read finds the next one queued instead of waiting for the main thread to issue it.
 */
const ASYNC_READS_IN_FLIGHT = 8;

/** Reads the header of a `.npy` file without keeping it open. */
export function readNpyHeader(path: string): NpyHeader {
  const fd = openOrExplain(path);
  try {
    return readHeader(path, fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

/** An open `.npy` file whose rows are read on demand into Float32Arrays. Call {@link close} when done. */
export class NpyReader {
  readonly header: NpyHeader;
  /** Shape of one row: the array's shape without its first axis. */
  readonly rowShape: readonly number[];
  /** Elements per row (`prod(rowShape)`). */
  readonly rowLength: number;
  /** Rows along the first axis. */
  readonly rowCount: number;
  private fd: number | undefined;
  private readonly rowBytes: number;
  /** C-ordered float32 copy of a Fortran-ordered array, made on first read. */
  private reordered: Float32Array | undefined;
  private readonly needsReorder: boolean;
  /** `<f4` data: the file bytes are the float32 values (the host is little-endian), read straight into the output. */
  private readonly direct: boolean;
  /** Scratch buffers for converting reads, kept between calls (at most one per async read in flight). */
  private readonly scratchPool: Uint8Array[] = [];

  private constructor(
    readonly path: string,
    fd: number,
    options: NpyOpenOptions,
  ) {
    this.fd = fd;
    this.header = readHeader(path, fd, fstatSync(fd).size);
    const { shape, fortranOrder, dtype, elementCount } = this.header;
    if (options.expectShape) checkShape(path, shape, options.expectShape);
    this.rowShape = shape.slice(1);
    this.rowLength = this.rowShape.reduce((a, b) => a * b, 1);
    this.rowCount = shape.length === 0 ? 0 : shape[0];
    this.rowBytes = this.rowLength * dtype.itemSize;
    this.direct = dtype.descr === '<f4';
    // Fortran and C order coincide when at most one axis has more than one element.
    this.needsReorder = fortranOrder && shape.filter((d) => d > 1).length > 1;
    const limit = options.fortranLimitBytes ?? FORTRAN_LIMIT_BYTES;
    if (this.needsReorder && elementCount * 4 > limit) {
      throw new NpyError(
        path,
        `Fortran-ordered array of shape ${formatShape(shape)} needs ${elementCount * 4} bytes to reorder in memory, ` +
          `over the ${limit}-byte limit; re-save it C-ordered with np.save(path, np.ascontiguousarray(arr))`,
      );
    }
  }

  /** Opens `path`, reads and validates its header; throws {@link NpyError} naming the file on any problem. */
  static open(path: string, options: NpyOpenOptions = {}): NpyReader {
    const fd = openOrExplain(path);
    try {
      return new NpyReader(path, fd, options);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  get shape(): readonly number[] {
    return this.header.shape;
  }

  /**
   * Reads rows `indices` (any order, repeats allowed) into `out`, shaped `[indices.length, ...rowShape]`.
   * Rows adjacent in the file are fetched with one read. Pass the same `out` on every call: a fresh output is
   * memory the kernel must fault in and zero page by page, which costs about as much as the read itself.
   */
  readRowsSync(indices: ArrayLike<number>, out?: Float32Array): Float32Array {
    const target = this.target(indices.length, out);
    if (this.needsReorder) return this.gatherReordered(indices, target);
    const fd = this.openFd();
    for (const run of this.planRuns(indices)) {
      if (this.direct) {
        readFullySync(this.path, fd, run.offset, this.scatterViews(run, target));
        this.copyRepeats(run, target);
      } else {
        const scratch = this.takeScratch(run.bytes);
        try {
          readFullySync(this.path, fd, run.offset, [scratch]);
          this.fillRun(run, scratch, target);
        } finally {
          this.giveScratch(scratch);
        }
      }
    }
    return target;
  }

  /**
   * Async {@link readRowsSync}: rows adjacent in the file are coalesced into one read, and several reads run at once
   * on libuv's file-system threads (which, with a free core, outruns one thread copying from the page cache).
   */
  async readRows(indices: ArrayLike<number>, out?: Float32Array): Promise<Float32Array> {
    const target = this.target(indices.length, out);
    if (this.needsReorder) return this.gatherReordered(indices, target);
    const fd = this.openFd();
    const runs = this.planRuns(indices);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < runs.length) {
        const run = runs[next++];
        if (this.direct) {
          await readFully(this.path, fd, run.offset, this.scatterViews(run, target));
          this.copyRepeats(run, target);
          continue;
        }
        const scratch = this.takeScratch(run.bytes);
        try {
          await readFully(this.path, fd, run.offset, [scratch]);
          this.fillRun(run, scratch, target);
        } finally {
          this.giveScratch(scratch);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(ASYNC_READS_IN_FLIGHT, runs.length) }, worker));
    return target;
  }

  /** The positioned reads a request for `indices` makes: runs of consecutive file rows, in file order. */
  readPlan(indices: ArrayLike<number>): { firstRow: number; rows: number }[] {
    return this.planRuns(indices).map(({ firstRow, rows }) => ({ firstRow, rows }));
  }

  /** Reads rows `start .. start+count-1` into `out`, shaped `[count, ...rowShape]`. */
  readRowRangeSync(start: number, count: number, out?: Float32Array): Float32Array {
    return this.readRowsSync(range(start, count), out);
  }

  /** Async {@link readRowRangeSync}. */
  readRowRange(start: number, count: number, out?: Float32Array): Promise<Float32Array> {
    return this.readRows(range(start, count), out);
  }

  /** Reads elements `start .. start+count-1` of row `row` (flattened in C order), shaped `[count]`. */
  readRowSliceSync(row: number, start: number, count: number): Float32Array {
    this.checkRow(row);
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > this.rowLength) {
      throw new NpyError(this.path, `elements [${start}, ${start + count}) are outside a row of ${this.rowLength}`);
    }
    const out = new Float32Array(count);
    if (this.needsReorder) {
      out.set(this.reorderedData().subarray(row * this.rowLength + start, row * this.rowLength + start + count));
      return out;
    }
    this.readElementsSync(this.header.dataOffset + row * this.rowBytes + start * this.header.dtype.itemSize, out);
    return out;
  }

  /** Reads the whole array (C order, as float32), shaped like {@link shape}. Meant for small arrays. */
  readAllSync(): Float32Array {
    if (this.needsReorder) return this.reorderedData().slice();
    const out = new Float32Array(this.header.elementCount);
    this.readElementsSync(this.header.dataOffset, out);
    return out;
  }

  /** Closes the file; further reads throw. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.scratchPool.length = 0;
  }

  private target(rows: number, out: Float32Array | undefined): Float32Array {
    if (this.header.shape.length === 0) throw new NpyError(this.path, 'a 0-d array has no rows; use readAllSync()');
    const length = rows * this.rowLength;
    if (out === undefined) return new Float32Array(length);
    if (out.length < length) {
      throw new NpyError(this.path, `output buffer holds ${out.length} floats, ${rows} rows need ${length}`);
    }
    return out;
  }

  private checkRow(row: number): void {
    if (!Number.isInteger(row) || row < 0 || row >= this.rowCount) {
      throw new NpyError(this.path, `row ${row} is out of range [0, ${this.rowCount}) for shape ${formatShape(this.shape)}`);
    }
  }

  /**
   * Groups the requested rows into runs of consecutive file rows (sorted, duplicates read once), each run one
   * positioned read of at most {@link MAX_READ_BYTES}, or {@link SCRATCH_BYTES} when converting (or one row, if a
   * row is larger). Targets of a run are in row order, and a repeated row's in request order (the sort is stable).
   */
  private planRuns(indices: ArrayLike<number>): Run[] {
    const maxBytes = this.direct ? MAX_READ_BYTES : SCRATCH_BYTES;
    const order = Array.from({ length: indices.length }, (_, k) => k);
    for (const k of order) this.checkRow(indices[k]);
    order.sort((a, b) => indices[a] - indices[b]);
    const runs: Run[] = [];
    let run: Run | undefined;
    for (const k of order) {
      const row = indices[k];
      const end = run === undefined ? -1 : run.firstRow + run.rows;
      if (run !== undefined && row < end) {
        // A repeat of the run's last row: read once, copied to every position that asked for it.
      } else if (run !== undefined && row === end && run.bytes + this.rowBytes <= maxBytes) {
        run.rows++;
        run.bytes += this.rowBytes;
      } else {
        run = { firstRow: row, rows: 1, offset: this.header.dataOffset + row * this.rowBytes, bytes: this.rowBytes, targets: [] };
        runs.push(run);
      }
      run.targets.push({ position: k, row });
    }
    return runs;
  }

  /**
   * Where the float32 bytes of `run` go in `out`: the output slot of each row's first request, in file order, slots
   * that follow each other merged into one view. One `preadv` over the run fills them all, with no scratch buffer
   * and no copy, whether or not the run's rows sit side by side in the batch.
   */
  private scatterViews(run: Run, out: Float32Array): Uint8Array[] {
    const views: Uint8Array[] = [];
    let start = -1;
    let end = -1;
    let row = -1;
    for (const target of run.targets) {
      if (target.row === row) continue; // a repeat: copied by copyRepeats
      const at = out.byteOffset + target.position * this.rowBytes;
      if (at !== end) {
        if (end > start) views.push(new Uint8Array(out.buffer, start, end - start));
        start = at;
      }
      end = at + this.rowBytes;
      row = target.row;
    }
    if (end > start) views.push(new Uint8Array(out.buffer, start, end - start));
    return views;
  }

  /** Copies each repeated row of `run` from the slot its first request was read into. */
  private copyRepeats(run: Run, out: Float32Array): void {
    let first = -1;
    let row = -1;
    for (const { position, row: r } of run.targets) {
      if (r !== row) {
        first = position;
        row = r;
      } else {
        out.copyWithin(position * this.rowLength, first * this.rowLength, (first + 1) * this.rowLength);
      }
    }
  }

  /** A scratch buffer of at least `bytes` bytes, viewed to exactly that length; return it to the pool after use. */
  private takeScratch(bytes: number): Uint8Array {
    const k = this.scratchPool.findIndex((b) => b.buffer.byteLength >= bytes);
    const buffer = k >= 0 ? this.scratchPool.splice(k, 1)[0] : undefined;
    // A fresh Uint8Array starts at byte 0 of its own ArrayBuffer, so every element view over it is aligned.
    return new Uint8Array(buffer?.buffer ?? new ArrayBuffer(bytes), 0, bytes);
  }

  /** Keeps `scratch` for the next read, unless it is an outsized one-row buffer or enough are kept already. */
  private giveScratch(scratch: Uint8Array): void {
    if (scratch.buffer.byteLength <= SCRATCH_BYTES && this.scratchPool.length < ASYNC_READS_IN_FLIGHT) this.scratchPool.push(scratch);
  }

  /** Reads `out.length` elements starting at byte `position` into `out`, converting to float32 in scratch-sized steps. */
  private readElementsSync(position: number, out: Float32Array): void {
    const fd = this.openFd();
    if (this.direct) {
      readFullySync(this.path, fd, position, [new Uint8Array(out.buffer, out.byteOffset, out.byteLength)]);
      return;
    }
    const itemSize = this.header.dtype.itemSize;
    const step = Math.max(1, Math.floor(SCRATCH_BYTES / itemSize));
    for (let done = 0; done < out.length; done += step) {
      const count = Math.min(step, out.length - done);
      const scratch = this.takeScratch(count * itemSize);
      try {
        readFullySync(this.path, fd, position + done * itemSize, [scratch]);
        this.convert(scratch, 0, count, out, done);
      } finally {
        this.giveScratch(scratch);
      }
    }
  }

  private fillRun(run: Run, bytes: Uint8Array, out: Float32Array): void {
    for (const { position, row } of run.targets) {
      this.convert(bytes, (row - run.firstRow) * this.rowBytes, this.rowLength, out, position * this.rowLength, row);
    }
  }

  private convert(bytes: Uint8Array, byteOffset: number, count: number, out: Float32Array, outOffset: number, row?: number): void {
    const describe = () => (row === undefined ? this.path : `${this.path} row ${row}`);
    convertToFloat32(this.header.dtype, bytes.buffer as ArrayBuffer, bytes.byteOffset + byteOffset, count, out, outOffset, describe);
  }

  private gatherReordered(indices: ArrayLike<number>, out: Float32Array): Float32Array {
    const data = this.reorderedData();
    for (let k = 0; k < indices.length; k++) {
      this.checkRow(indices[k]);
      out.set(data.subarray(indices[k] * this.rowLength, (indices[k] + 1) * this.rowLength), k * this.rowLength);
    }
    return out;
  }

  /** The whole Fortran-ordered array read once and transposed to C order (bounded by the open-time limit). */
  private reorderedData(): Float32Array {
    if (this.reordered) return this.reordered;
    const { elementCount, dataOffset, shape } = this.header;
    const fortran = new Float32Array(elementCount);
    this.readElementsSync(dataOffset, fortran);
    this.reordered = fortranToC(fortran, shape);
    return this.reordered;
  }

  private openFd(): number {
    if (this.fd === undefined) throw new NpyError(this.path, 'reader is closed');
    return this.fd;
  }
}

/** One positioned read covering file rows `firstRow .. firstRow+rows-1`, and where each requested row goes. */
interface Run {
  firstRow: number;
  rows: number;
  offset: number;
  bytes: number;
  targets: { position: number; row: number }[];
}

function range(start: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => start + k);
}

/** Transposes a flat Fortran-ordered array of `shape` to C order. */
function fortranToC(fortran: Float32Array, shape: readonly number[]): Float32Array {
  const out = new Float32Array(fortran.length);
  if (fortran.length === 0) return out;
  const ndim = shape.length;
  // Fortran stride of axis a is prod(shape[0..a-1]); walk C order with an odometer, tracking the Fortran offset.
  const strides = shape.map((_, a) => shape.slice(0, a).reduce((p, d) => p * d, 1));
  const index = new Array<number>(ndim).fill(0);
  let f = 0;
  for (let c = 0; c < out.length; c++) {
    out[c] = fortran[f];
    for (let a = ndim - 1; a >= 0; a--) {
      if (++index[a] < shape[a]) {
        f += strides[a];
        break;
      }
      f -= (shape[a] - 1) * strides[a];
      index[a] = 0;
    }
  }
  return out;
}

function readHeader(path: string, fd: number, fileSize: number): NpyHeader {
  const prefix = Buffer.alloc(Math.min(PREFIX_BYTES, fileSize));
  readSync(fd, prefix, 0, prefix.length, 0);
  if (fileSize < 10) {
    throw new NpyError(path, `not an NPY file (${fileSize} bytes, shorter than the 10-byte NPY prefix)`);
  }
  const { major, dataOffset } = parsePrefix(path, prefix);
  const start = major === 1 ? 10 : 12;
  if (dataOffset > fileSize) {
    throw new NpyError(path, `truncated inside the NPY header: it declares ${dataOffset} header bytes, the file has ${fileSize} bytes`);
  }
  const dict = Buffer.alloc(dataOffset - start);
  readSync(fd, dict, 0, dict.length, start);
  const header = parseHeaderDict(path, major, dict, dataOffset);
  const expected = dataOffset + header.elementCount * header.dtype.itemSize;
  if (fileSize !== expected) {
    const what = fileSize < expected ? 'truncated' : 'longer than its header says';
    throw new NpyError(
      path,
      `${what}: shape ${formatShape(header.shape)} of '${header.dtype.descr}' needs ${expected} bytes ` +
        `(${dataOffset} header + ${expected - dataOffset} data), the file has ${fileSize} bytes`,
    );
  }
  return header;
}

function checkShape(path: string, shape: readonly number[], expected: ShapeExpectation): void {
  const wanted = `(${expected.map((d) => (d === null || d === -1 ? '*' : String(d))).join(', ')})`;
  if (shape.length !== expected.length) {
    throw new NpyError(path, `has ${shape.length} axes ${formatShape(shape)}, expected ${expected.length} axes ${wanted}`);
  }
  expected.forEach((d, axis) => {
    if (d !== null && d !== -1 && shape[axis] !== d) {
      throw new NpyError(path, `axis ${axis} has size ${shape[axis]}, expected ${d} (shape ${formatShape(shape)}, expected ${wanted})`);
    }
  });
}

/** Opens for reading; a missing or unreadable file becomes an {@link NpyError} naming it. */
function openOrExplain(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new NpyError(path, code === 'ENOENT' ? 'file not found' : `cannot open (${code ?? (error as Error).message})`);
  }
}

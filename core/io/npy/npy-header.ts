/**
 * The NPY header: magic, version, header length and the Python-dict header, for format versions 1.0, 2.0 and 3.0
 * (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
 *
 *   bytes 0-5   "\x93NUMPY"
 *   bytes 6-7   major, minor version
 *   then        header length: uint16 LE (v1) or uint32 LE (v2, v3)
 *   then        the header dict, latin-1 (v1, v2) or UTF-8 (v3), padded with spaces and ending in '\n'
 *   then        the data, `prod(shape) * itemsize` bytes, nothing after it
 */
import { UsageError } from '../../errors';
import { parsePyLiteral } from './npy-literal';

export const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** A dtype this reader can convert to float32, with its byte size. */
export interface NpyDtype {
  /** numpy's `descr` string as written in the header (`<f4`, `|u1`, ...). */
  readonly descr: string;
  readonly itemSize: number;
}

/** Supported dtypes, keyed by `descr`. Multi-byte types are little-endian only (see {@link parseDescr}). */
export const NPY_DTYPES: Readonly<Record<string, NpyDtype>> = Object.fromEntries(
  (
    [
      ['<f4', 4],
      ['<f8', 8],
      ['<i8', 8],
      ['<i4', 4],
      ['<u4', 4],
      ['<i2', 2],
      ['<u2', 2],
      ['|i1', 1],
      ['|u1', 1],
      ['|b1', 1],
    ] as const
  ).map(([descr, itemSize]) => [descr, { descr, itemSize }]),
);

/** Everything the header says about the array, plus where its data starts. */
export interface NpyHeader {
  readonly version: '1.0' | '2.0' | '3.0';
  readonly dtype: NpyDtype;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Byte offset of the first element. */
  readonly dataOffset: number;
  /** `prod(shape)` (1 for a 0-d array). */
  readonly elementCount: number;
}

/** An error about one `.npy` file; the message always starts with the file's path. */
/** A missing, truncated or malformed `.npy` file: bad input (exit code 2), always naming the file. */
export class NpyError extends UsageError {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** The prefix length for a version: magic (6) + version (2) + header-length field (2 or 4). */
export function prefixLength(major: number): number {
  return major === 1 ? 10 : 12;
}

/** Bytes to read first: enough for the prefix of any version. */
export const PREFIX_BYTES = 12;

/**
 * Reads the prefix (magic, version, header length) from the first {@link PREFIX_BYTES} bytes of a file.
 * Returns the major version and the total length of prefix + header dict, i.e. the data offset.
 */
export function parsePrefix(file: string, prefix: Buffer): { major: 1 | 2 | 3; minor: number; dataOffset: number } {
  if (prefix.length < 10 || !prefix.subarray(0, 6).equals(NPY_MAGIC)) {
    throw new NpyError(file, 'not an NPY file (the magic string "\\x93NUMPY" is missing)');
  }
  const major = prefix[6];
  const minor = prefix[7];
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw new NpyError(file, `unsupported NPY format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  if (major !== 1 && prefix.length < 12) throw new NpyError(file, 'file ends inside the NPY header');
  const headerLength = major === 1 ? prefix.readUInt16LE(8) : prefix.readUInt32LE(8);
  return { major, minor, dataOffset: prefixLength(major) + headerLength };
}

/** Parses the header dict (the bytes between the prefix and the data) of a file with format version `major`. */
export function parseHeaderDict(file: string, major: 1 | 2 | 3, bytes: Buffer, dataOffset: number): NpyHeader {
  const text = bytes.toString(major === 3 ? 'utf8' : 'latin1');
  let dict;
  try {
    dict = parsePyLiteral(text);
  } catch (err) {
    throw new NpyError(file, `corrupt NPY header: ${(err as Error).message}`);
  }
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) {
    throw new NpyError(file, `corrupt NPY header: expected a dict, got ${JSON.stringify(text.slice(0, 80))}`);
  }
  const keys = Object.keys(dict).sort().join(',');
  if (keys !== 'descr,fortran_order,shape') {
    throw new NpyError(file, `corrupt NPY header: keys are {${keys}}, expected {descr, fortran_order, shape}`);
  }
  const { descr, fortran_order: fortranOrder, shape } = dict;
  if (typeof fortranOrder !== 'boolean') throw new NpyError(file, 'corrupt NPY header: fortran_order is not a bool');
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new NpyError(file, `corrupt NPY header: shape ${JSON.stringify(shape)} is not a tuple of sizes`);
  }
  const dims = shape as number[];
  const elementCount = dims.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(elementCount)) throw new NpyError(file, `shape (${dims.join(', ')}) is too large`);
  return {
    version: `${major}.0` as NpyHeader['version'],
    dtype: parseDescr(file, descr),
    fortranOrder,
    shape: dims,
    dataOffset,
    elementCount,
  };
}

/** Resolves a header `descr` to a supported dtype, with a message that says why others are refused. */
export function parseDescr(file: string, descr: unknown): NpyDtype {
  if (typeof descr !== 'string') {
    throw new NpyError(file, `structured dtype ${JSON.stringify(descr)} is not supported (plain numeric arrays only)`);
  }
  const known = NPY_DTYPES[descr];
  if (known) return known;
  const supported = Object.keys(NPY_DTYPES).join(', ');
  if (descr.startsWith('>')) {
    throw new NpyError(
      file,
      `big-endian dtype '${descr}' is not supported; re-save it little-endian with ` +
        `np.save(path, arr.astype(arr.dtype.newbyteorder('<'))) (supported: ${supported})`,
    );
  }
  throw new NpyError(file, `unsupported dtype '${descr}' (supported: ${supported})`);
}

/** Shape as numpy prints it: `(3,)`, `(2, 3)`, `()`. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * Encodes a version-1.0 C-order header for `descr` and `shape`, padded with spaces so that the data starts at a
 * multiple of 64 bytes, as numpy does (it lets readers memory-map the data aligned).
 */
export function encodeHeaderV1(descr: string, shape: readonly number[]): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${formatShape(shape)}, }`;
  const unpadded = 10 + dict.length + 1; // prefix + dict + '\n'
  const total = Math.ceil(unpadded / 64) * 64;
  const headerLength = total - 10;
  if (headerLength > 0xffff) throw new Error(`NPY v1.0 header for shape ${formatShape(shape)} is too long`);
  const out = Buffer.alloc(total, 0x20);
  NPY_MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(headerLength, 8);
  out.write(dict, 10, 'latin1');
  out[total - 1] = 0x0a;
  return out;
}

/**
 * Converting raw little-endian element bytes to float32. Every caller hands in a buffer whose element data
 * starts at an offset that is a multiple of the item size, so typed-array views are always aligned.
 */
import { endianness } from 'node:os';
import type { NpyDtype } from './npy-header';

// Typed-array views read in host byte order; NPY data here is little-endian.
if (endianness() !== 'LE') throw new Error('the NPY reader needs a little-endian host');

/** High 32-bit word of 2^53: int64 values of magnitude up to 2^53 convert to a JS number without loss. */
const HI_WORD_LIMIT = 0x200000;

/**
 * Converts `count` elements of `dtype` starting at byte `byteOffset` of `src` into `out[outOffset ...]`.
 * Throws (with `describe()` as the subject) when an int64 element's magnitude is above 2^53.
 */
export function convertToFloat32(
  dtype: NpyDtype,
  src: ArrayBuffer,
  byteOffset: number,
  count: number,
  out: Float32Array,
  outOffset: number,
  describe: () => string,
): void {
  switch (dtype.descr) {
    case '<f4':
      out.set(new Float32Array(src, byteOffset, count), outOffset);
      return;
    // TypedArray.set converts element-wise with round-to-nearest-even, which is what numpy's astype(float32) does.
    case '<f8':
      out.set(new Float64Array(src, byteOffset, count), outOffset);
      return;
    case '<i4':
      out.set(new Int32Array(src, byteOffset, count), outOffset);
      return;
    case '<u4':
      out.set(new Uint32Array(src, byteOffset, count), outOffset);
      return;
    case '<i2':
      out.set(new Int16Array(src, byteOffset, count), outOffset);
      return;
    case '<u2':
      out.set(new Uint16Array(src, byteOffset, count), outOffset);
      return;
    case '|i1':
      out.set(new Int8Array(src, byteOffset, count), outOffset);
      return;
    case '|u1':
      out.set(new Uint8Array(src, byteOffset, count), outOffset);
      return;
    case '|b1': {
      const bytes = new Uint8Array(src, byteOffset, count);
      for (let k = 0; k < count; k++) out[outOffset + k] = bytes[k] === 0 ? 0 : 1;
      return;
    }
    case '<i8': {
      // Two 32-bit words per element avoid BigInt, which is an order of magnitude slower here.
      const words = new Int32Array(src, byteOffset, 2 * count);
      for (let k = 0; k < count; k++) {
        const lo = words[2 * k] >>> 0;
        const hi = words[2 * k + 1];
        // -2^53 <= value < 2^53 exactly when -2^21 <= hi < 2^21 (two's complement); +2^53 itself is hi = 2^21, lo = 0.
        const exact = (hi >= -HI_WORD_LIMIT && hi < HI_WORD_LIMIT) || (hi === HI_WORD_LIMIT && lo === 0);
        if (!exact) {
          const value = (BigInt(hi) << 32n) | BigInt(lo);
          throw new Error(`${describe()}: int64 value ${value} is beyond 2^53 in magnitude and has no exact JS number`);
        }
        out[outOffset + k] = hi * 4294967296 + lo;
      }
      return;
    }
    default:
      throw new Error(`${describe()}: no float32 conversion for dtype '${dtype.descr}'`);
  }
}

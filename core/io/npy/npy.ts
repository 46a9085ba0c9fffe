/**
 * Streaming `.npy` access for precomputed features: read rows of the first axis on demand (never the whole file),
 * and write arrays atomically. NPY format versions 1.0, 2.0 and 3.0; little-endian numeric dtypes
 * (`<f4 <f8 <i8 <i4 <u4 <i2 <u2 |i1 |u1 |b1`), all read as float32.
 *
 * ```ts
 * const feats = NpyReader.open('data/f30k_precomp/test_ims.npy', { expectShape: [-1, 36, 2048] });
 * const batch = await feats.readRows([3, 17, 5]); // [3, 36, 2048]
 * feats.close();
 * ```
 */
export { NpyError, NPY_DTYPES, formatShape, type NpyDtype, type NpyHeader } from './npy-header';
export { NpyReader, readNpyHeader, FORTRAN_LIMIT_BYTES, type NpyOpenOptions, type ShapeExpectation } from './npy-reader';
export { NpyStreamWriter, writeNpy, type NpyWritable } from './npy-writer';

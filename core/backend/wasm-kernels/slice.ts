/**
 * `Slice`, `Unpack`, `SplitV` and the slicing path of `StridedSlice` for wasm, copying only what they return. The
 * stock kernels all go through one slice function that first reads the **whole** input off the heap (`readSync`
 * copies it) and then copies the slice out of that copy. A loop that takes T slices of a tensor (`unstack` over
 * the time steps of a recurrence, `split`, per-item operands of a batched product) therefore costs O(T²) in copies
 * instead of O(T). Here the slice is copied straight from the input's heap view, one contiguous run at a time.
 */
import { tf } from '../tf';
import { type BackendWasm, release, replaceWasmKernel, reshapeInfo, type WasmKernelArgs } from './wasm-backend';

/**
 * Copies x[begin : begin + size] into a new tensor. The innermost axes that the slice covers whole are merged into
 * one contiguous run, so a slice along axis a of a row-major tensor is one `set` per index of the axes before a.
 */
export function sliceInfo(backend: BackendWasm, x: tf.TensorInfo, begin: readonly number[], size: readonly number[]): tf.TensorInfo {
  const out = backend.makeOutput([...size], x.dtype);
  const total = tf.util.sizeFromShape(size as number[]);
  if (total === 0) return out;
  // Views after the allocation: growing the heap detaches older ones.
  const source = backend.typedArrayFromHeap(x);
  const target = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = [...tf.util.computeStrides(x.shape), 1];
  // Axes from `inner` on form one contiguous run per outer index: all of them are whole except possibly the first.
  let inner = rank - 1;
  while (inner > 0 && size[inner] === x.shape[inner]) inner--;
  const run = size.slice(inner).reduce((n, d) => n * d, 1);
  const start = begin.reduce((offset, b, axis) => offset + b * strides[axis], 0);
  if (inner <= 0) {
    target.set(source.subarray(start, start + run));
    return out;
  }
  // Odometer over the outer axes [0, inner).
  const index = new Array<number>(inner).fill(0);
  let from = start;
  for (let to = 0; to < total; to += run) {
    target.set(source.subarray(from, from + run), to);
    for (let axis = inner - 1; axis >= 0; axis--) {
      from += strides[axis];
      if (++index[axis] < size[axis]) break;
      from -= size[axis] * strides[axis];
      index[axis] = 0;
    }
  }
  return out;
}

function slice({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin as number[], attrs.size as number | number[]);
  return sliceInfo(backend, x, begin, size);
}

function unpack({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo[] {
  const value = inputs.value as tf.TensorInfo;
  const axis = tf.util.parseAxisParam(attrs.axis as number, value.shape)[0];
  const outShape = value.shape.filter((_, i) => i !== axis);
  const size = value.shape.map((d, i) => (i === axis ? 1 : d));
  return Array.from({ length: value.shape[axis] }, (_, i) => {
    const begin = value.shape.map((_, j) => (j === axis ? i : 0));
    return { ...sliceInfo(backend, value, begin, size), shape: outShape };
  });
}

function splitV({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo[] {
  const x = inputs.x as tf.TensorInfo;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits as number | number[], axis);
  const begin = x.shape.map(() => 0);
  return sizes.map((s) => {
    const part = sliceInfo(
      backend,
      x,
      begin,
      x.shape.map((d, i) => (i === axis ? s : d)),
    );
    begin[axis] += s;
    return part;
  });
}

/** Strided slices with unit strides go through {@link sliceInfo}; the others keep the stock C++ kernel. */
function stridedSlice(stock: tf.KernelFunc) {
  return (args: WasmKernelArgs): tf.TensorInfo => {
    const { inputs, backend, attrs } = args;
    const x = inputs.x as tf.TensorInfo;
    const a = attrs as unknown as tf.StridedSliceAttrs;
    const info = tf.slice_util.sliceInfo(x.shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
    if (info.isIdentity || !(info.sliceDim0 || info.isSimpleSlice) || x.dtype === 'string') return stock(args) as tf.TensorInfo;
    const sliced = sliceInfo(backend, x, info.begin, tf.slice_util.computeOutShape(info.begin, info.end, info.strides));
    const result = reshapeInfo(backend, sliced, info.finalShape);
    release(backend, sliced);
    return result;
  };
}

/** Replaces the four kernels (string tensors keep the stock path, which copies them as arrays). */
export function replaceSliceKernels(): void {
  const unlessString =
    (kernel: (args: WasmKernelArgs) => tf.TensorInfo | tf.TensorInfo[], tensor: string) => (stock: tf.KernelFunc) => (args: WasmKernelArgs) =>
      (args.inputs[tensor] as tf.TensorInfo).dtype === 'string' ? (stock(args) as tf.TensorInfo | tf.TensorInfo[]) : kernel(args);
  replaceWasmKernel('Slice', unlessString(slice, 'x'));
  replaceWasmKernel('Unpack', unlessString(unpack, 'value'));
  replaceWasmKernel('SplitV', unlessString(splitV, 'x'));
  replaceWasmKernel('StridedSlice', stridedSlice);
}

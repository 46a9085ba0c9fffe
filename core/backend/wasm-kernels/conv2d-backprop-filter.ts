/**
 * `Conv2DBackpropFilter` for wasm: the weight gradient of `conv2d`. The wasm backend has the forward convolution and
 * the input gradient but not this one, so no convolution trains on wasm without it.
 *
 * dW[kh, kw, ci, co] = Σ_{n, oh, ow} x[n, oh·sh + kh − top, ow·sw + kw − left, ci] · dy[n, oh, ow, co].
 * For each of the FH·FW kernel taps, the strided slice of the padded input that the tap sees is one
 * [N·OH·OW, CI] matrix, and its product with dy is that tap's [CI, CO] block: FH·FW matMuls that run on the
 * fast XNNPACK path, with no [N·OH·OW, FH·FW·CI] im2col buffer held at once.
 */
import { tf } from '../tf';
import { addWasmKernel, asKernelOutput, asTensor, type WasmKernelArgs } from './wasm-backend';

type Padding = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/** Throws for what this kernel does not compute: channels-first data and dilated convolutions. */
function assertSupported(attrs: tf.NamedAttrMap): void {
  const { dataFormat, dilations } = attrs as { dataFormat?: string; dilations?: number | number[] };
  if (dataFormat != null && dataFormat !== 'NHWC') {
    throw new Error(`Conv2DBackpropFilter on wasm supports dataFormat 'NHWC' only, got '${dataFormat}'`);
  }
  const rates = dilations == null ? [] : Array.isArray(dilations) ? dilations : [dilations];
  if (rates.some((rate) => rate !== 1)) {
    const got = JSON.stringify(dilations);
    throw new Error(`Conv2DBackpropFilter on wasm supports dilation 1 only, got dilations ${got}`);
  }
}

/** x [N, H, W, CI], dy [N, OH, OW, CO] → dW [FH, FW, CI, CO]. */
function filterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: tf.NamedAttrMap): tf.Tensor4D {
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    filterShape,
    attrs.strides as number | [number, number],
    1,
    attrs.pad as Padding,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { batchSize: n, inChannels: ci, outChannels: co, outHeight: oh, outWidth: ow, padInfo } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  // Pad so that the last tap's slice fits even when the padding reported for 'same' leaves it short.
  const paddedH = x.shape[1] + padInfo.top + padInfo.bottom;
  const paddedW = x.shape[2] + padInfo.left + padInfo.right;
  const extraH = Math.max(0, fh + (oh - 1) * sh - paddedH);
  const extraW = Math.max(0, fw + (ow - 1) * sw - paddedW);
  const padded = tf.pad(x, [
    [0, 0],
    [padInfo.top, padInfo.bottom + extraH],
    [padInfo.left, padInfo.right + extraW],
    [0, 0],
  ]);
  const rows = n * oh * ow;
  const dyT = tf.transpose(tf.reshape(dy, [rows, co])); // [CO, rows], transposed once for all taps
  const taps: tf.Tensor2D[] = [];
  for (let kh = 0; kh < fh; kh++) {
    for (let kw = 0; kw < fw; kw++) {
      const seen = tf.stridedSlice(padded, [0, kh, kw, 0], [n, kh + (oh - 1) * sh + 1, kw + (ow - 1) * sw + 1, ci], [1, sh, sw, 1]);
      taps.push(tf.matMul(dyT, tf.reshape(seen, [rows, ci]))); // [CO, CI]
    }
  }
  return tf.transpose(tf.reshape(tf.stack(taps), [fh, fw, co, ci]), [0, 1, 3, 2]);
}

function conv2DBackpropFilter({ inputs, backend, attrs }: WasmKernelArgs): tf.TensorInfo {
  assertSupported(attrs);
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  // Ops called inside a kernel are not taped; tidy frees their intermediates.
  const result = tf.tidy(() => filterGradient(asTensor(backend, x) as tf.Tensor4D, asTensor(backend, dy) as tf.Tensor4D, attrs));
  return asKernelOutput(backend, result);
}

/** Adds the kernel unless wasm already has one (a later tfjs release may ship it). */
export function registerConv2DBackpropFilter(): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') == null) addWasmKernel('Conv2DBackpropFilter', conv2DBackpropFilter);
}

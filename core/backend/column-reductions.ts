/**
 * Reductions over the rows of a `[N, C]` matrix (per-channel statistics of BatchNorm over B·H·W pixels or B·N
 * tokens), laid out for the active backend. wasm reduces fast only along the last axis: a reduction over axis 0
 * transposes inside the kernel at ~10 ns an element, and the gradients of broadcast ops reduce the same way. On
 * wasm the sums are therefore taken on the transposed view ([C, N], reduced along its last axis); other backends
 * reduce axis 0 directly. Values are the same either way (checked against cpu in the tests).
 */
import { tf } from './tf';

const onWasm = () => tf.engine().backendName === 'wasm';

/**
 * Sum over the rows. @param x `[N, C]` @returns `[C]`
 */
export function columnSum(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => (onWasm() ? x.transpose().sum(1) : x.sum(0)) as tf.Tensor1D);
}

/**
 * Mean and biased variance over the rows (two passes, as `tf.moments`). @param x `[N, C]`
 * @returns mean `[C]`, variance `[C]`
 */
export function columnMoments(x: tf.Tensor2D): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  if (!onWasm()) return tf.moments(x, 0) as { mean: tf.Tensor1D; variance: tf.Tensor1D };
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x.transpose(), 1);
    return { mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  });
}

/**
 * `x · scale + shift` per column, with a gradient whose per-column sums go through {@link columnSum}.
 * @param x `[N, C]` @param scale `[C]` @param shift `[C]` @returns `[N, C]`
 */
export function scaleShiftColumns(x: tf.Tensor2D, scale: tf.Tensor1D, shift: tf.Tensor1D): tf.Tensor2D {
  const op = tf.customGrad((xi, si, hi, save) => {
    const [input, s, h] = [xi as tf.Tensor2D, si as tf.Tensor1D, hi as tf.Tensor1D];
    (save as tf.GradSaveFunc)([input, s]);
    return {
      value: input.mul(s).add(h),
      gradFunc: (dy, saved) => {
        const [savedX, savedScale] = saved as [tf.Tensor2D, tf.Tensor1D];
        const g = dy as tf.Tensor2D;
        return [g.mul(savedScale), columnSum(g.mul(savedX) as tf.Tensor2D), columnSum(g)];
      },
    };
  });
  return op(x, scale, shift) as tf.Tensor2D;
}

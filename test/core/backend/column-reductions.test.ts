import { tf } from '../../../core/backend/tf';
import { columnMoments, columnSum, scaleShiftColumns } from '../../../core/backend/column-reductions';
import { BatchNorm } from '../../../core/nn/norm';
import { assertSameOnBackends, expectNoLeak, restoreBackendAfterSuite, seededTensor } from '../../support/tensors';

describe('column reductions (per-channel sums laid out for the backend)', () => {
  restoreBackendAfterSuite();

  it('columnSum and columnMoments match tf.sum / tf.moments over axis 0, on every backend', () =>
    assertSameOnBackends('column statistics', () => {
      const x = seededTensor([3000, 24], 1).mul(3).add(5) as tf.Tensor2D;
      const { mean, variance } = columnMoments(x);
      const reference = tf.moments(x, 0);
      return [columnSum(x), x.sum(0), mean, reference.mean, variance, reference.variance];
    }));

  it('scaleShiftColumns gives x·scale + shift and the gradients of all three inputs', () =>
    assertSameOnBackends('scale and shift', () => {
      const x = seededTensor([700, 16], 2) as tf.Tensor2D;
      const scale = seededTensor([16], 3) as tf.Tensor1D;
      const shift = seededTensor([16], 4) as tf.Tensor1D;
      const w = seededTensor([700, 16], 5);
      const f = (a: tf.Tensor, s: tf.Tensor, h: tf.Tensor) =>
        scaleShiftColumns(a as tf.Tensor2D, s as tf.Tensor1D, h as tf.Tensor1D)
          .mul(w)
          .sum();
      const reference = (a: tf.Tensor, s: tf.Tensor, h: tf.Tensor) => a.mul(s).add(h).mul(w).sum();
      return [scaleShiftColumns(x, scale, shift), ...tf.grads(f)([x, scale, shift]), ...tf.grads(reference)([x, scale, shift])];
    }));

  it('BatchNorm2d in training: output and gradients of input, weight and bias agree across backends', () =>
    assertSameOnBackends('BatchNorm2d training', () => {
      const bn = new BatchNorm(8);
      const x = seededTensor([2, 16, 16, 8], 6);
      const w = seededTensor([2, 16, 16, 8], 7);
      const loss = (a: tf.Tensor) => bn.apply(a, true).mul(w).sum() as tf.Scalar;
      const dx = tf.grad(loss)(x);
      const { grads } = tf.variableGrads(() => loss(x), [bn.weight, bn.bias]);
      const out = [bn.apply(x, true), dx, grads[bn.weight.name], grads[bn.bias.name]];
      bn.dispose();
      return out;
    }));

  it('leaks no tensors on wasm', async () => {
    await tf.setBackend('wasm');
    const x = seededTensor([500, 12], 8) as tf.Tensor2D;
    const s = seededTensor([12], 9) as tf.Tensor1D;
    await expectNoLeak(() => {
      const { mean, variance } = columnMoments(x);
      return [mean, variance, columnSum(x), tf.grad((a: tf.Tensor) => scaleShiftColumns(a as tf.Tensor2D, s, s).sum())(x)];
    }, 'column reductions');
    tf.dispose([x, s]);
  });
});

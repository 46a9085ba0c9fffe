import { strict as assert } from 'node:assert';
import { tf } from '../../../../core/backend/tf';
import { FAST_TRANSPOSE_MIN_ELEMENTS, transposeLastTwo } from '../../../../core/backend/wasm-kernels/transpose';
import { assertSameOnBackends, expectNoLeak, restoreBackendAfterSuite, seededTensor } from '../../../support/tensors';

describe('wasm kernel: Transpose of the last two axes', () => {
  restoreBackendAfterSuite();

  it('transposeLastTwo matches the definition, including rows that are not a multiple of eight', () => {
    for (const [batch, rows, cols] of [
      [1, 1, 1],
      [2, 7, 3],
      [3, 17, 130],
      [1, 8, 256],
      [2, 300, 5],
    ]) {
      const src = Float32Array.from({ length: batch * rows * cols }, (_, i) => i * 0.5 - 3);
      const dst = new Float32Array(src.length);
      transposeLastTwo(src, dst, batch, rows, cols);
      for (let b = 0; b < batch; b++)
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) assert.equal(dst[b * rows * cols + j * rows + i], src[b * rows * cols + i * cols + j]);
    }
  });

  const large = Math.ceil(FAST_TRANSPOSE_MIN_ELEMENTS / 128);
  const cases: Array<[string, number[], number[]]> = [
    ['2-D above the threshold', [large + 3, 128], [1, 0]],
    ['batched [3, R, 129] above the threshold', [3, large, 129], [0, 2, 1]],
    ['rank 4, last two swapped', [2, 2, large, 130], [0, 1, 3, 2]],
    ['below the threshold (stock kernel)', [5, 9, 11], [0, 2, 1]],
    ['another permutation (stock kernel)', [4, 600, 130], [1, 0, 2]],
  ];
  for (const [name, shape, perm] of cases) {
    it(`matches cpu exactly: ${name}`, () => assertSameOnBackends(name, () => tf.transpose(seededTensor(shape, 3), perm), 0));
  }

  it('transposes int32 and bool tensors exactly, and gives transpose its gradient', () =>
    assertSameOnBackends('int32, bool and gradient', () => {
      const ints = tf.range(0, 3 * large * 128, 1, 'int32').reshape([3, large, 128]);
      const x = seededTensor([2, large, 130], 7);
      const w = seededTensor([2, 130, large], 8);
      return [
        tf.transpose(ints, [0, 2, 1]),
        tf.transpose(ints.mod(2).cast('bool'), [0, 2, 1]).cast('int32'),
        tf.grad((t: tf.Tensor) => tf.transpose(t, [0, 2, 1]).mul(w).sum())(x),
      ];
    }));

  it('leaks no tensors', async () => {
    await tf.setBackend('wasm');
    const x = seededTensor([2, large, 130], 9);
    await expectNoLeak(() => tf.tidy(() => [tf.transpose(x, [0, 2, 1]), tf.transpose(x.reshape([2 * large, 130]), [1, 0])]), 'transpose');
    x.dispose();
  });
});

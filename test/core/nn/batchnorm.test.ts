import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { BatchNorm } from '../../../core/nn';
import { assertClose, expectNoLeak, restoreBackendAfterSuite, seededTensor, TEST_BACKENDS } from '../../support/tensors';

const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe('BatchNorm (BatchNorm1d over tokens / BatchNorm2d channels-last)', () => {
  restoreBackendAfterSuite();

  for (const backend of TEST_BACKENDS) {
    it(`${backend}: training normalises with batch statistics and moves running stats by momentum 0.1 (unbiased var)`, async () => {
      await tf.setBackend(backend);
      const bn = new BatchNorm(2);
      // Channel 0: 1, 2, 3, 6 → mean 3, biased var 3.5, unbiased var 14/3.
      // Channel 1: 0, 0, 4, 4 → mean 2, biased var 4, unbiased var 16/3.
      const x = tf.tensor2d([
        [1, 0],
        [2, 0],
        [3, 4],
        [6, 4],
      ]);
      const y = bn.apply(x, true);
      const s0 = Math.sqrt(3.5 + 1e-5);
      const s1 = Math.sqrt(4 + 1e-5);
      assertClose(
        values(y),
        [-2 / s0, -1, -1 / s0, -1, 0, 1, 3 / s0, 1].map((v, i) => (i % 2 === 1 ? (v * 2) / s1 : v)),
        'normalised',
      );
      assertClose(values(bn.runningMean), [0.3, 0.2], 'running_mean = 0.9·0 + 0.1·mean');
      assertClose(values(bn.runningVar), [0.9 + (0.1 * 14) / 3, 0.9 + (0.1 * 16) / 3], 'running_var = 0.9·1 + 0.1·unbiased');
      assert.equal(bn.numBatchesTracked.dataSync()[0], 1);
      // Evaluation uses the running statistics and leaves them alone.
      const e = bn.apply(tf.tensor2d([[0.3, 0.2]]), false);
      assertClose(values(e), [0, 0], 'eval at the running mean');
      assert.equal(bn.numBatchesTracked.dataSync()[0], 1);
      bn.dispose();
    });

    it(`${backend}: under tf.variableGrads the statistics update once, get no gradient, and nothing leaks`, async () => {
      await tf.setBackend(backend);
      const bn = new BatchNorm(3);
      const x = seededTensor([2, 4, 4, 3], 2); // an NHWC map: BatchNorm2d
      const trainable = bn
        .parameters()
        .filter((p) => p.trainable)
        .map((p) => p.variable);
      const step = () => {
        const { value, grads } = tf.variableGrads(
          () =>
            bn
              .apply(x, true)
              .mul(seededTensor([2, 4, 4, 3], 3))
              .sum() as tf.Scalar,
          trainable,
        );
        assert.deepEqual(Object.keys(grads).sort(), trainable.map((v) => v.name).sort());
        return [value, grads];
      };
      await expectNoLeak(step, 'BatchNorm training step');
      assert.equal(bn.numBatchesTracked.dataSync()[0], 2);
      const mean = tf.tidy(() => x.reshape([-1, 3]).mean(0));
      // Two identical updates: rm = (1 − 0.9²)·mean.
      assertClose(
        values(bn.runningMean),
        values(mean).map((m) => 0.19 * m),
        'two updates',
      );
      bn.dispose();
      x.dispose();
      mean.dispose();
    });
  }
});

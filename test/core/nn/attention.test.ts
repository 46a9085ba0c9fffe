import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { gelu, mergeHeads, normal, scaledDotProductAttention, splitHeads } from '../../../core/nn';
import { createRng } from '../../../core/services/rng';
import { evaluation } from '../../support/plugin-harness';
import { assertClose, seededTensor } from '../../support/tensors';

describe('core/nn: GELU, multi-head attention, normal init', () => {
  before(() => tf.setBackend('cpu'));

  it('GELU is the exact erf form x·Φ(x), not the tanh approximation', () => {
    // Φ from the standard normal table: Φ(1) = 0.8413447461, Φ(−1) = 0.1586552539, Φ(2) = 0.9772498681.
    const y = tf.tidy(() => Array.from(gelu(tf.tensor1d([-1, 0, 1, 2])).dataSync()));
    assertClose(y, [-0.1586552539, 0, 0.8413447461, 1.9544997361], 'gelu', 1e-6, 1e-7);
  });

  it('splitHeads / mergeHeads are inverse; head h holds channels h·d … h·d+d−1', () => {
    tf.tidy(() => {
      const x = seededTensor([2, 3, 8]) as tf.Tensor3D;
      const heads = splitHeads(x, 4);
      assert.deepEqual(heads.shape, [2, 4, 3, 2]);
      assertClose(heads.slice([1, 2, 0, 0], [1, 1, 3, 2]).dataSync(), x.slice([1, 0, 4], [1, 3, 2]).dataSync(), 'head 2 of item 1', 0, 0);
      assertClose(mergeHeads(heads).dataSync(), x.dataSync(), 'round trip', 0, 0);
    });
  });

  it('attention is softmax(q·kᵀ/√d)·v, and a key with a −10000 bias gets no weight', () => {
    tf.tidy(() => {
      const q = seededTensor([1, 1, 2, 4], 1) as tf.Tensor4D;
      const k = seededTensor([1, 1, 3, 4], 2) as tf.Tensor4D;
      const v = seededTensor([1, 1, 3, 4], 3) as tf.Tensor4D;
      const expected = tf.matMul(tf.softmax(tf.matMul(q, k, false, true).div(2)), v);
      assertClose(scaledDotProductAttention(q, k, v, null, 0.5, evaluation()).dataSync(), expected.dataSync(), 'unmasked', 1e-6, 1e-7);
      const bias = tf.tensor4d([0, 0, -10000], [1, 1, 1, 3]);
      const twoKeys = tf.matMul(tf.softmax(tf.matMul(q, k.slice([0, 0, 0, 0], [1, 1, 2, 4]), false, true).div(2)), v.slice([0, 0, 0, 0], [1, 1, 2, 4]));
      assertClose(scaledDotProductAttention(q, k, v, bias, 0, evaluation()).dataSync(), twoKeys.dataSync(), 'third key masked', 1e-6, 1e-7);
    });
  });

  it('normal init has the requested standard deviation and replays from the Rng', () => {
    const a = normal(createRng(3), [100, 101], 0.02);
    const values = Array.from(a.dataSync());
    const mean = values.reduce((s, x) => s + x, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / values.length);
    assert.ok(Math.abs(mean) < 0.001 && Math.abs(std - 0.02) < 0.0005, `mean ${mean}, std ${std}`);
    const b = normal(createRng(3), [100, 101], 0.02);
    assert.deepEqual(Array.from(b.dataSync()), values);
    tf.dispose([a, b]);
  });
});

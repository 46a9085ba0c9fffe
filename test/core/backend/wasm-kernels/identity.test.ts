import { strict as assert } from 'node:assert';
import { tf } from '../../../../core/backend/tf';
import { assertSameOnBackends, expectNoLeak, restoreBackendAfterSuite, seededTensor } from '../../../support/tensors';

describe('wasm kernel: Identity sharing its input', () => {
  restoreBackendAfterSuite();
  beforeEach(() => tf.setBackend('wasm'));

  it('a clone shares the data: no new buffer, and each tensor outlives the other', () => {
    const x = seededTensor([64, 32], 1);
    const expected = Array.from(x.dataSync());
    const buffers = tf.backend().numDataIds();
    const y = x.clone();
    assert.equal(tf.backend().numDataIds(), buffers, 'a clone allocated a buffer');
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), expected);
    const z = y.clone();
    y.dispose();
    assert.deepEqual(Array.from(z.dataSync()), expected);
    z.dispose();
  });

  it('a variable assigned after its value was saved for the backward pass leaves the saved value intact', () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const dx = tf.grad((x: tf.Tensor) => {
      const y = x.mul(v); // saves x and v for the gradient
      v.assign(tf.tensor1d([10, 20, 30]));
      return y.sum();
    })(tf.tensor1d([4, 5, 6]));
    assert.deepEqual(Array.from(dx.dataSync()), [1, 2, 3]);
    assert.deepEqual(Array.from(v.dataSync()), [10, 20, 30]);
    tf.dispose([dx, v]);
  });

  it('gradients through saved activations and weights equal those on cpu, strings are still copied', async () => {
    await assertSameOnBackends(
      'a small MLP with its gradients',
      () => {
        const x = seededTensor([16, 24], 2);
        const w1 = seededTensor([24, 32], 3);
        const w2 = seededTensor([32, 8], 4);
        const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.relu(a.matMul(b)).matMul(c).square().mean();
        const [dx, dw1, dw2] = tf.grads(loss as (...t: tf.Tensor[]) => tf.Tensor)([x, w1, w2]);
        return [dx, dw1, dw2, tf.sigmoid(x).clone()];
      },
      1e-5,
      1e-7,
    );
    await tf.setBackend('wasm');
    const s = tf.tensor1d(['a', 'bc']);
    const t = s.clone();
    s.dispose();
    assert.deepEqual(t.dataSync(), ['a', 'bc']);
    t.dispose();
  });

  it('an op under the tape saves its inputs without copying them, and a taped step leaks nothing', async () => {
    const x = seededTensor([256, 256], 5);
    const w = tf.variable(seededTensor([256, 256], 6));
    let added = -1;
    const dx = tf.grad((t: tf.Tensor) => {
      const buffers = tf.backend().numDataIds();
      const y = t.mul(w); // Multiply saves both inputs for its gradient
      added = tf.backend().numDataIds() - buffers;
      return y.sum();
    })(x);
    assert.equal(added, 1, 'buffers a taped multiply added (its output only)');
    dx.dispose();
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.tanh(tf.tanh(x.matMul(w)).matMul(w)).sum() as tf.Scalar, [w]);
      return [value, grads[w.name]];
    };
    await expectNoLeak(step, 'a taped step with shared saved tensors');
    tf.dispose([x, w]);
  });
});

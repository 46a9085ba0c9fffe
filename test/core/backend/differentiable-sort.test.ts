import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { sortDescending, sortDescendingWithIndices } from '../../../core/backend/differentiable-sort';
import { assertClose, computeOn, expectNoLeak, restoreBackendAfterSuite, seededValues, TEST_BACKENDS } from '../../support/tensors';

/** Brute force on plain arrays: each row of `values` [rows, r] sorted descending, and its permutation. */
function bruteForceSort(values: Float32Array, r: number): { sorted: number[]; order: number[] } {
  const sorted: number[] = [];
  const order: number[] = [];
  for (let start = 0; start < values.length; start += r) {
    const row = Array.from({ length: r }, (_, j) => j).sort((p, q) => values[start + q] - values[start + p]);
    row.forEach((j) => {
      sorted.push(values[start + j]);
      order.push(j);
    });
  }
  return { sorted, order };
}

/** d/dx Σ w ⊙ sort(x): the weight of output slot j lands on the input position that moved there. */
function bruteForceGradient(order: number[], weights: Float32Array, r: number): number[] {
  const grad = new Array<number>(order.length).fill(0);
  order.forEach((from, slot) => (grad[Math.floor(slot / r) * r + from] += weights[slot]));
  return grad;
}

describe('sortDescending (differentiable sort)', () => {
  restoreBackendAfterSuite();

  for (const shape of [[7], [3, 5], [2, 3, 4]]) {
    for (const backend of TEST_BACKENDS) {
      it(`${backend}: values, indices and gradient of a [${shape}] sort match brute force`, async () => {
        const size = shape.reduce((a, b) => a * b, 1);
        const r = shape[shape.length - 1];
        const x = seededValues(size, 11); // distinct values: no ties to order
        const w = seededValues(size, 12);
        const { sorted, order } = bruteForceSort(x, r);
        const [values, indices, grad] = await computeOn(backend, () => {
          const input = tf.tensor(x, shape);
          const { values, indices } = sortDescendingWithIndices(input);
          const gradient = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(sortDescending(v), tf.tensor(w, shape))))(input);
          const scoped = indices.clone(); // indices are kept past tidy by design: hand tidy a copy
          indices.dispose();
          return [values, scoped, gradient];
        });
        assertClose(values, sorted, 'sorted values', 0, 0);
        assert.deepEqual(indices, order);
        assertClose(grad, bruteForceGradient(order, w, r), 'gradient', 1e-6, 1e-6);
      });
    }
  }

  it('hands out indices that survive tf.tidy and are the caller’s to dispose', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([0.5, 2, -1]);
    const indices = tf.tidy(() => sortDescendingWithIndices(x).indices);
    assert.deepEqual(Array.from(indices.dataSync()), [1, 0, 2]);
    tf.dispose([x, indices]);
  });

  it('rejects a scalar', () => {
    assert.throws(() => sortDescending(tf.scalar(1)), /rank ≥ 1/);
  });

  for (const backend of TEST_BACKENDS) {
    it(`${backend}: leaks no tensors forward or backward`, async () => {
      await tf.setBackend(backend);
      const x = tf.tensor(seededValues(24, 3), [2, 3, 4]);
      await expectNoLeak(() => tf.grad((v: tf.Tensor) => tf.sum(tf.square(sortDescending(v))))(x), 'sort gradient');
      await expectNoLeak(() => {
        const { values, indices } = sortDescendingWithIndices(x);
        return [values, indices];
      }, 'sort with indices');
      x.dispose();
    });
  }
});

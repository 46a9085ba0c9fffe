import { strict as assert } from 'node:assert';
import { tf } from '../../../../core/backend/tf';
import { assertSameOnBackends, computeOn, expectNoLeak, restoreBackendAfterSuite, seededTensor } from '../../../support/tensors';

describe('wasm kernel: UnsortedSegmentSum', () => {
  restoreBackendAfterSuite();

  it('sums rows by segment and drops ids outside [0, numSegments), like cpu', async () => {
    const compute = () => tf.unsortedSegmentSum(tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [6, 2]), tf.tensor1d([0, 2, -1, 2, 5, 1], 'int32'), 3);
    const [wasm] = await computeOn('wasm', compute);
    // segment 0: row 0; segment 1: row 5; segment 2: rows 1 and 3; rows 2 (id -1) and 4 (id 5) dropped
    assert.deepEqual(wasm, [1, 2, 11, 12, 3 + 7, 4 + 8]);
    await assertSameOnBackends('segment sum with out-of-range ids', compute);
  });

  const cases: Array<[string, number[], number[], number]> = [
    ['1-D values', [7], [0, 0, 3, 1, 3, 3, 9], 4],
    ['3-D values', [5, 2, 3], [1, 1, 0, 4, 1], 5],
    ['more segments than rows', [3, 4], [7, 2, 7], 9],
  ];
  for (const [name, shape, ids, numSegments] of cases) {
    it(`matches cpu: ${name}`, () => assertSameOnBackends(name, () => tf.unsortedSegmentSum(seededTensor(shape, 3), tf.tensor1d(ids, 'int32'), numSegments)));
  }

  it('sums int32 values exactly', () =>
    assertSameOnBackends('int32 segment sum', () => tf.unsortedSegmentSum(tf.tensor1d([5, -2, 9, 4], 'int32'), tf.tensor1d([1, 0, 1, 1], 'int32'), 2)));

  it('gives gather its gradient (an embedding lookup with repeated ids)', () =>
    assertSameOnBackends('gather gradient', () => {
      const table = seededTensor([6, 4], 5);
      const ids = tf.tensor2d([0, 3, 3, 5, 1, 3], [2, 3], 'int32');
      const weights = seededTensor([2, 3, 4], 6);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), weights)))(table);
    }));

  it('leaks no tensors or buffers', async () => {
    await tf.setBackend('wasm');
    const x = seededTensor([8, 3]);
    const ids = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 9], 'int32');
    await expectNoLeak(() => tf.unsortedSegmentSum(x, ids, 4), 'UnsortedSegmentSum');
    x.dispose();
    ids.dispose();
  });
});

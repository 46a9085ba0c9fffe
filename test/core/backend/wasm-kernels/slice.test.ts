import { strict as assert } from 'node:assert';
import { tf } from '../../../../core/backend/tf';
import { assertSameOnBackends, expectNoLeak, restoreBackendAfterSuite, seededTensor } from '../../../support/tensors';

describe('wasm kernels: Slice, Unpack, SplitV and StridedSlice copying only the slice', () => {
  restoreBackendAfterSuite();

  const slices: Array<[string, number[], number[], number[]]> = [
    ['1-D', [9], [2], [5]],
    ['contiguous rows of a 2-D tensor', [6, 4], [2, 0], [3, 4]],
    ['columns of a 2-D tensor', [6, 4], [1, 1], [4, 2]],
    ['one time step of [B, T, F]', [3, 5, 4], [0, 2, 0], [3, 1, 4]],
    ['a block inside [B, T, F]', [3, 5, 4], [1, 1, 2], [2, 3, 2]],
    ['rank 5, middle axes cut', [2, 3, 4, 2, 3], [1, 0, 1, 0, 1], [1, 3, 2, 2, 1]],
    ['the whole tensor', [2, 3], [0, 0], [2, 3]],
    ['an empty slice', [4, 3], [1, 0], [0, 3]],
  ];
  for (const [name, shape, begin, size] of slices) {
    it(`slice matches cpu: ${name}`, () => assertSameOnBackends(name, () => tf.slice(seededTensor(shape, 2), begin, size)));
  }

  it('slices int32 and bool tensors exactly', () =>
    assertSameOnBackends('int32 and bool slices', () => [
      tf.slice(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32'), [0, 1], [2, 2]),
      tf.slice(tf.tensor2d([1, 0, 1, 1, 0, 0], [3, 2], 'bool'), [1, 0], [2, 1]).cast('int32'),
    ]));

  it('unstack, split and their gradients match cpu', () =>
    assertSameOnBackends('unstack and split', () => {
      const x = seededTensor([3, 4, 6], 4);
      const w = seededTensor([3, 4, 6], 5);
      const loss = (t: tf.Tensor) => {
        const steps = tf.unstack(t, 1);
        const [a, b, c] = tf.split(t, [1, 2, 3], 2);
        return tf.addN([...steps.map((s, i) => s.mul(i + 1).sum()), a.sum(), b.square().sum(), c.mul(w.slice([0, 0, 3], [3, 4, 3])).sum()]);
      };
      return [...tf.unstack(x, 2), ...tf.split(x, 3, 0), tf.grad(loss)(x)];
    }));

  it('strided slices match cpu, with unit strides (sliced here) and other strides (stock kernel)', () =>
    assertSameOnBackends('strided slices', () => {
      const x = seededTensor([4, 5, 6], 6);
      return [
        tf.stridedSlice(x, [1, 0, 0], [3, 5, 6], [1, 1, 1]),
        tf.stridedSlice(x, [0, 1, 2], [4, 4, 5], [1, 1, 1]),
        tf.stridedSlice(x, [0, 2, 0], [4, 3, 6], [1, 1, 1], 0, 0, 0, 0, 2), // shrinks axis 1
        tf.stridedSlice(x, [0, 0, 1], [4, 5, 6], [1, 2, 2]),
      ];
    }));

  it('never copies the whole input off the heap (the stock kernels readSync it once per slice)', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const readSync = backend.readSync;
    let reads = 0;
    backend.readSync = function (this: tf.KernelBackend, dataId: object) {
      reads++;
      return readSync.call(this, dataId);
    };
    try {
      const x = seededTensor([16, 8, 4]);
      tf.dispose([...tf.unstack(x, 1), ...tf.split(x, 4, 2), tf.slice(x, [2, 1, 0], [3, 2, 4]), tf.stridedSlice(x, [1, 0, 0], [5, 8, 4], [1, 1, 1])]);
      x.dispose();
    } finally {
      backend.readSync = readSync;
    }
    assert.equal(reads, 0);
  });

  it('leaks no tensors or buffers', async () => {
    await tf.setBackend('wasm');
    const x = seededTensor([4, 5, 6]);
    await expectNoLeak(
      () => [tf.slice(x, [1, 1, 1], [2, 2, 2]), ...tf.unstack(x, 1), ...tf.split(x, 3, 2), tf.stridedSlice(x, [1, 0, 0], [2, 5, 6], [1, 1, 1])],
      'slices',
    );
    x.dispose();
  });
});

import { strict as assert } from 'node:assert';
import { tf } from '../../../../core/backend/tf';
import { assertSameOnBackends, expectNoLeak, restoreBackendAfterSuite, seededTensor, seededValues } from '../../../support/tensors';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** x shape [N, H, W, CI], filter shape [FH, FW, CI, CO], strides, padding. */
const CASES: Array<[string, number[], number[], number | [number, number], Pad]> = [
  ['3×3 stride 1 same', [2, 5, 5, 3], [3, 3, 3, 4], 1, 'same'],
  ['3×3 stride 2 valid', [2, 7, 7, 2], [3, 3, 2, 3], 2, 'valid'],
  ['3×3 stride 2 same on an odd size', [1, 5, 5, 1], [3, 3, 1, 2], 2, 'same'],
  ['2×3 strides [1, 2] same', [1, 6, 5, 2], [2, 3, 2, 2], [1, 2], 'same'],
  ['4×4 stride 2 same on an even size', [1, 8, 8, 2], [4, 4, 2, 2], 2, 'same'],
  [
    'explicit asymmetric padding',
    [2, 6, 6, 2],
    [3, 3, 2, 2],
    1,
    [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  ],
  ['numeric padding 1, stride 2', [1, 6, 6, 2], [3, 3, 2, 2], 2, 1],
  ['1×1 valid', [1, 4, 4, 3], [1, 1, 3, 2], 1, 'valid'],
];

describe('wasm kernel: Conv2DBackpropFilter', () => {
  restoreBackendAfterSuite();

  for (const [name, xShape, filterShape, strides, pad] of CASES) {
    it(`conv2d gradients match cpu: ${name}`, () =>
      assertSameOnBackends(name, () => {
        const x = seededTensor(xShape, 1) as tf.Tensor4D;
        const filter = seededTensor(filterShape, 2) as tf.Tensor4D;
        const outShape = tf.conv2d(x, filter, strides, pad).shape;
        const weights = seededTensor(outShape, 3);
        const loss = (a: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, strides, pad), weights));
        return [loss(x, filter), ...tf.grads(loss)([x, filter])];
      }));
  }

  const runKernel = (attrs: Record<string, unknown>) =>
    tf.tidy(() =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: seededTensor([1, 4, 4, 2]), dy: seededTensor([1, 4, 4, 3]) }, {
        strides: 1,
        pad: 'same',
        dataFormat: 'NHWC',
        filterShape: [3, 3, 2, 3],
        ...attrs,
      } as never),
    );

  it('rejects channels-first data and dilation with a clear error', async () => {
    await tf.setBackend('wasm');
    assert.throws(() => runKernel({ dataFormat: 'NCHW' }), /supports dataFormat 'NHWC' only, got 'NCHW'/);
    assert.throws(() => runKernel({ dilations: [2, 2] }), /supports dilation 1 only, got dilations \[2,2\]/);
  });

  it('leaks no tensors or buffers and leaves its inputs intact', async () => {
    await tf.setBackend('wasm');
    const x = seededTensor([1, 5, 5, 2]) as tf.Tensor4D;
    const filter = seededTensor([3, 3, 2, 2], 2) as tf.Tensor4D;
    const filterGradient = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 2, 'same')));
    await expectNoLeak(() => filterGradient(filter), 'conv2d filter gradient');
    assert.deepEqual(Array.from(x.dataSync()), Array.from(seededValues(50, 1)));
    tf.dispose([x, filter]);
  });
});

import { strict as assert } from 'node:assert';
import { tf } from '../../../../core/backend/tf';
import { SPLIT_MIN_MULTIPLY_ADDS } from '../../../../core/backend/wasm-kernels';
import { assertSameOnBackends, expectNoLeak, restoreBackendAfterSuite, seededTensor } from '../../../support/tensors';

/** Loss Σ w ⊙ matMul(a, b) and its gradients with respect to the inputs listed in `wrt` (broadcast inputs excluded:
 * tfjs's BatchMatMul gradient does not reduce broadcast batch dimensions on any backend). */
function productAndGradients(aShape: number[], bShape: number[], transposeA: boolean, transposeB: boolean, wrt: Array<'a' | 'b'>) {
  return () => {
    const a = seededTensor(aShape, 1);
    const b = seededTensor(bShape, 2);
    const product = tf.matMul(a, b, transposeA, transposeB);
    const weights = seededTensor(product.shape, 3);
    const loss = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, transposeA, transposeB), weights));
    const gradient = { a: () => tf.grad((x: tf.Tensor) => loss(x, b))(a), b: () => tf.grad((y: tf.Tensor) => loss(a, y))(b) };
    return [product, ...wrt.map((name) => gradient[name]())];
  };
}

describe('wasm kernels: BatchMatMul and _FusedMatMul routed onto XNNPACK', () => {
  restoreBackendAfterSuite();

  for (const [transposeA, transposeB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ]) {
    const aShape = transposeA ? [7, 5] : [5, 7];
    const bShape = transposeB ? [6, 7] : [7, 6];
    it(`2-D transposeA=${transposeA} transposeB=${transposeB}: values and gradients match cpu`, () =>
      assertSameOnBackends('2-D matMul', productAndGradients(aShape, bShape, transposeA, transposeB, ['a', 'b'])));
    it(`batched 3-D transposeA=${transposeA} transposeB=${transposeB}: values and gradients match cpu`, () =>
      assertSameOnBackends('batched matMul', productAndGradients([3, ...aShape], [3, ...bShape], transposeA, transposeB, ['a', 'b'])));
  }

  it('batched products large enough to split per batch item match cpu (values and gradients)', () => {
    const side = Math.round(Math.cbrt(SPLIT_MIN_MULTIPLY_ADDS));
    assert.ok(side ** 3 >= SPLIT_MIN_MULTIPLY_ADDS);
    return assertSameOnBackends('split batched matMul', productAndGradients([2, side, side], [2, side, side], false, true, ['a', 'b']), 1e-4, 1e-4);
  });

  // Few rows against a wide operand: computed as Cᵀ = Bᵀ·Aᵀ so that XNNPACK packs the small operand.
  const wide: Array<[string, number[], number[], boolean, boolean]> = [
    ['2-D [4, 64] × [64, 1100]', [4, 64], [64, 1100], false, false],
    ['2-D [4, 64] × [1100, 64]ᵀ', [4, 64], [1100, 64], false, true],
    ['batched [2, 4, 64] × [2, 1100, 64]ᵀ (split per item)', [2, 4, 64], [2, 1100, 64], false, true],
    ['batched [2, 64, 4]ᵀ × [2, 64, 1100] (split per item)', [2, 64, 4], [2, 64, 1100], true, false],
  ];
  for (const [name, aShape, bShape, transposeA, transposeB] of wide) {
    it(`few rows against a wide operand ${name}: values and gradients match cpu`, () =>
      assertSameOnBackends(name, productAndGradients(aShape, bShape, transposeA, transposeB, ['a', 'b']), 1e-4, 1e-4));
  }

  it('a fused product with few rows, no bias and an activation is computed transposed and matches cpu', () =>
    assertSameOnBackends('fused wide', () => tf.fused.matMul({ a: seededTensor([4, 64], 1), b: seededTensor([64, 1100], 2), activation: 'relu' })));

  const broadcasts: Array<[string, number[], number[], boolean, Array<'a' | 'b'>]> = [
    ['[B, M, K] × [K, N] (dense layer over a sequence)', [3, 4, 5], [5, 6], false, ['a']],
    ['[B1, B2, M, K] × [1, K, N]', [2, 3, 4, 5], [1, 5, 6], false, ['a']],
    ['[B, M, K] × [N, K] with transposeB', [3, 4, 5], [6, 5], true, ['a']],
    ['[1, M, K] × [B, K, N]', [1, 4, 5], [3, 5, 6], false, ['b']],
  ];
  for (const [name, aShape, bShape, transposeB, wrt] of broadcasts) {
    it(`broadcast batch ${name}: values and gradients match cpu`, () =>
      assertSameOnBackends(name, productAndGradients(aShape, bShape, false, transposeB, wrt)));
  }

  const fusedCases: Array<[string, number[], number[], boolean, boolean, tf.fused.Activation, boolean]> = [
    ['2-D, bias + relu, transposeB', [5, 7], [6, 7], false, true, 'relu', false],
    ['2-D, bias + elu, transposeA', [7, 5], [7, 6], true, false, 'elu', false],
    ['3-D batched, bias + sigmoid, both transposed', [2, 7, 5], [2, 6, 7], true, true, 'sigmoid', false],
    ['3-D batched, bias + relu (the stock kernel adds the bias wrongly here)', [3, 5, 7], [3, 7, 6], false, false, 'relu', false],
    ['3-D against one weight, bias + linear', [3, 5, 7], [1, 7, 6], false, false, 'linear', false],
    ['3-D one input against a batch of weights, bias + leakyrelu', [1, 5, 7], [3, 7, 6], false, false, 'leakyrelu', false],
    ['2-D, prelu with per-column weights, transposeB', [5, 7], [6, 7], false, true, 'prelu', true],
    ['3-D batched, bias + prelu with per-column weights', [2, 5, 7], [2, 7, 6], false, false, 'prelu', true],
  ];
  for (const [name, aShape, bShape, transposeA, transposeB, activation, prelu] of fusedCases) {
    it(`fused matMul ${name}: values and gradients match cpu`, () =>
      assertSameOnBackends(`fused ${name}`, () => {
        const a = seededTensor(aShape, 1);
        const b = seededTensor(bShape, 2);
        const bias = seededTensor([6], 4);
        const preluActivationWeights = prelu ? tf.mul(seededTensor([6], 5), 0.5) : undefined;
        const fused = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) =>
          tf.fused.matMul({ a: x, b: y, transposeA, transposeB, bias: z, activation, preluActivationWeights, leakyreluAlpha: 0.2 });
        const out = fused(a, b, bias);
        const weights = seededTensor(out.shape, 3);
        // prelu's fused gradient is not implemented in tfjs; its forward pass is still compared.
        // Gradients of broadcast operands are not reduced by tfjs on any backend, so only same-shape ones are compared.
        const loss = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(fused(x, y, z), weights));
        const broadcast = aShape.length === 3 && aShape[0] !== bShape[0];
        const grads = prelu ? [] : broadcast ? [tf.grad((z: tf.Tensor) => loss(a, b, z))(bias)] : tf.grads(loss)([a, b, bias]);
        return [out, ...grads];
      }));
  }

  it('leaks no tensors or buffers on any route (transposed, folded, split, fused)', async () => {
    await tf.setBackend('wasm');
    const side = Math.round(Math.cbrt(SPLIT_MIN_MULTIPLY_ADDS));
    const routes: Array<[string, () => tf.Tensor]> = [
      ['transposed', () => tf.matMul(seededTensor([4, 3]), seededTensor([5, 3]), false, true)],
      ['folded', () => tf.matMul(seededTensor([2, 4, 3]), seededTensor([3, 5]))],
      ['split', () => tf.matMul(seededTensor([2, side, side]), seededTensor([2, side, side]), true, false)],
      ['computed transposed', () => tf.matMul(seededTensor([2, 4, 64]), seededTensor([2, 1100, 64]), false, true)],
      [
        'fused',
        () => tf.fused.matMul({ a: seededTensor([2, 3, 4]), b: seededTensor([1, 5, 4]), transposeB: true, bias: seededTensor([5]), activation: 'relu' }),
      ],
    ];
    for (const [name, route] of routes) await expectNoLeak(() => tf.tidy(route), `${name} matMul`);
  });
});

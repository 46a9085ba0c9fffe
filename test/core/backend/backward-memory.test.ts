import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { setBackwardRelease } from '../../../core/backend/backward-memory';
import { trainableVariables } from '../../../core/nn';
import { createRng } from '../../../core/services/rng';
import { buildImageEncoder, buildTextEncoder, FULL, tinyImages } from '../../support/model-fixtures';
import { training } from '../../support/plugin-harness';
import { computeOn, expectNoLeak, restoreBackendAfterSuite, seededTensor, TEST_BACKENDS } from '../../support/tensors';

/** Runs `fn` with early release on or off, putting the setting back after. */
function withRelease<T>(on: boolean, fn: () => T): T {
  const previous = setBackwardRelease(on);
  try {
    return fn();
  } finally {
    setBackwardRelease(previous);
  }
}

describe('backward pass releasing saved tensors and gradients once used', () => {
  restoreBackendAfterSuite();

  /** Loss and every weight gradient of one step of the 3SHNet image encoder and the BiGRU text encoder (tiny sizes). */
  function modelGradients(): tf.Tensor[] {
    const image = buildImageEncoder(FULL);
    const text = buildTextEncoder({ embedDim: 8 });
    const captions = ['a red square', 'two blue circles left of a square', 'a circle'];
    text.prepare(captions);
    const inputs = tinyImages([4, 2, 3]);
    const mode = training(3);
    const vars = [...trainableVariables(image), ...trainableVariables(text)];
    const { value, grads } = tf.variableGrads(
      () => image.encode(inputs, mode).matMul(text.encode(captions, mode), false, true).square().sum() as tf.Scalar,
      vars,
    );
    const out = [value, ...vars.filter((v) => grads[v.name] != null).map((v) => grads[v.name])];
    image.dispose();
    text.dispose();
    return out;
  }

  for (const backend of TEST_BACKENDS) {
    it(`${backend}: gradients of a whole model are bit for bit those of tfjs's own backward pass`, async () => {
      const released = await computeOn(backend, () => withRelease(true, modelGradients));
      const kept = await computeOn(backend, () => withRelease(false, modelGradients));
      assert.equal(released.length, kept.length);
      released.forEach((values, i) => assert.deepEqual(values, kept[i], `tensor ${i}`));
    });
  }

  /**
   * Peak tensor bytes of the gradient of a chain of 16 negations of a 1 MiB input. The forward pass frees each link
   * (a negation's gradient needs nothing saved), so the backward pass makes the peak: its 16 intermediate gradients.
   */
  async function chainPeak(): Promise<number> {
    const x = seededTensor([512, 512], 1);
    const { peakBytes } = await tf.profile(() => {
      const dx = tf.grad((t: tf.Tensor) => {
        let y = t;
        for (let i = 0; i < 16; i++) {
          const next = y.neg();
          if (y !== t) y.dispose();
          y = next;
        }
        return y.sum();
      })(x);
      dx.dispose();
    });
    x.dispose();
    return peakBytes;
  }

  it('lowers the peak: intermediate gradients no longer stay to the end of the pass', async () => {
    await tf.setBackend('wasm');
    const mib = 2 ** 20;
    const released = await withRelease(true, chainPeak);
    const kept = await withRelease(false, chainPeak);
    assert.ok(kept >= 16 * mib, `tfjs's pass peaked at ${kept / mib} MiB`);
    assert.ok(released <= 5 * mib, `released: ${released / mib} MiB (tfjs's pass: ${kept / mib} MiB)`);
  });

  it("leaves the caller's dy, the inputs and returned gradients alone, and leaks nothing", async () => {
    await tf.setBackend('cpu');
    const x = seededTensor([4, 3], 2);
    const dy = seededTensor([4, 3], 3);
    const dx = tf.grad((t: tf.Tensor) => tf.relu(t).mul(2))(x, dy);
    assert.deepEqual(Array.from(dy.dataSync()).length, 12, 'dy was disposed');
    assert.ok(!x.isDisposed && !dx.isDisposed);
    await expectNoLeak(() => tf.grad((t: tf.Tensor) => tf.tanh(tf.tanh(t)).sum())(x), 'a released backward pass');
    tf.dispose([x, dy, dx]);
  });

  it('custom gradients that hand back their dy, one tensor for two inputs, or a saved tensor stay correct', async () => {
    await tf.setBackend('cpu');
    // f(a, b) = a·b elementwise with a gradient that returns its dy as da and db (the sum's gradient, not the
    // product's: only the plumbing matters), and g(c) whose gradient is the saved input itself.
    const passThrough = tf.customGrad((a, b) => ({ value: (a as tf.Tensor).mul(b as tf.Tensor), gradFunc: (dy) => [dy as tf.Tensor, dy as tf.Tensor] }));
    const handOn = tf.customGrad((c, save) => {
      (save as tf.GradSaveFunc)([c as tf.Tensor]);
      return { value: (c as tf.Tensor).square().div(2), gradFunc: (_dy, saved) => [saved[0]] };
    });
    const x = tf.tensor1d([1, 2, 3]);
    const loss = (t: tf.Tensor) => {
      const u = t.mul(3);
      return handOn(passThrough(u, u.add(1)).add(u)).sum();
    };
    const [released, kept] = [true, false].map((on) => withRelease(on, () => Array.from(tf.grad(loss)(x).dataSync())));
    assert.deepEqual(released, kept);
    tf.dispose(x);
  });

  it('higher-order gradients are unchanged', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor1d([0.5, -1, 2]);
    const second = (on: boolean) =>
      withRelease(on, () =>
        Array.from(
          tf
            .grad((t: tf.Tensor) =>
              tf
                .grad((u: tf.Tensor) => u.pow(3).sum())(t)
                .sum(),
            )(x)
            .dataSync(),
        ),
      );
    assert.deepEqual(second(true), [3, -6, 12]);
    assert.deepEqual(second(true), second(false));
    x.dispose();
  });

  it('a training step of the image encoder keeps the tensor count flat', async () => {
    await tf.setBackend('wasm');
    const image = buildImageEncoder(FULL);
    const inputs = tinyImages([4, 2, 3]);
    const mode = { training: true, rng: createRng(5) };
    const vars = trainableVariables(image);
    await expectNoLeak(() => {
      const { value, grads } = tf.variableGrads(() => image.encode(inputs, mode).sum() as tf.Scalar, vars);
      return [value, ...Object.values(grads)];
    }, 'an image-encoder step');
    image.dispose();
  });
});

import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { Conv2d, Embedding, LayerNorm, Linear, Mlp, countTrainable, dropout, l2Normalize } from '../../../core/nn';
import { createRng } from '../../../core/services/rng';
import { runPython } from '../../support/python-env';
import { assertClose, seededTensor } from '../../support/tensors';

const values = (t: tf.Tensor) => Array.from(t.dataSync());

/** Runs numpy on JSON inputs; the snippet reads `a` (the decoded list of inputs) and prints a flat list. */
function numpy(snippet: string, inputs: unknown[]): number[] {
  const out = runPython(`import json, sys, numpy as np\na = json.loads(sys.argv[1])\n${snippet}`, [JSON.stringify(inputs)]);
  return JSON.parse(out) as number[];
}

describe('core/nn layers', () => {
  before(() => tf.setBackend('cpu'));

  it('Linear: stores [in, out], draws U(±1/√in) for weight and bias, and computes x·W + b like numpy on the PyTorch layout', () => {
    const lin = new Linear(6, 3, createRng(1));
    assert.deepEqual(lin.weight.shape, [6, 3]);
    const bound = 1 / Math.sqrt(6);
    for (const v of [...values(lin.weight), ...values(lin.bias!)]) assert.ok(Math.abs(v) <= bound);
    const x = seededTensor([2, 4, 6]);
    const y = lin.apply(x);
    assert.deepEqual(y.shape, [2, 4, 3]);
    // The PyTorch weight is [out, in]: transpose what we store, then F.linear = x Wᵀ + b.
    const torchWeight = values(lin.weight.transpose());
    const expected = numpy(
      `w = np.array(a[1], np.float64).reshape(3, 6); x = np.array(a[0]).reshape(2, 4, 6)\nprint(json.dumps((x @ w.T + np.array(a[2])).ravel().tolist()))`,
      [values(x), torchWeight, values(lin.bias!)],
    );
    assertClose(values(y), expected, 'Linear');
    lin.dispose();
  });

  it('Linear xavier: weight within √(6/(in+out)), bias zero', () => {
    const lin = new Linear(20, 10, createRng(2), { init: 'xavier' });
    const bound = Math.sqrt(6 / 30);
    const w = values(lin.weight);
    assert.ok(w.every((v) => Math.abs(v) <= bound) && w.some((v) => Math.abs(v) > 1 / Math.sqrt(20)));
    assert.ok(values(lin.bias!).every((v) => v === 0));
    lin.dispose();
  });

  it('LayerNorm: (x − mean)/√(var + 1e-5) over the last axis, like numpy', () => {
    const ln = new LayerNorm(5);
    const x = seededTensor([3, 5], 3).mul(4);
    const expected = numpy(
      `x = np.array(a[0]).reshape(3, 5)\nm = x.mean(-1, keepdims=True); v = x.var(-1, keepdims=True)\nprint(json.dumps(((x - m) / np.sqrt(v + 1e-5)).ravel().tolist()))`,
      [values(x)],
    );
    assertClose(values(ln.apply(x)), expected, 'LayerNorm');
    assert.deepEqual(
      ln.parameters().map((p) => p.name),
      ['weight', 'bias'],
    );
    ln.dispose();
  });

  it('Conv2d 3×3 padding 1: matches a numpy cross-correlation on the PyTorch [out, in, kh, kw] weight', () => {
    const conv = new Conv2d(2, 3, 3, createRng(4));
    assert.deepEqual(conv.weight.shape, [3, 3, 2, 3]);
    const x = seededTensor([1, 4, 5, 2], 5) as tf.Tensor4D;
    const torchWeight = values(conv.weight.transpose([3, 2, 0, 1]));
    const bound = 1 / Math.sqrt(2 * 9);
    assert.ok(torchWeight.every((v) => Math.abs(v) <= bound));
    const expected = numpy(
      `x = np.array(a[0]).reshape(1, 4, 5, 2).transpose(0, 3, 1, 2); w = np.array(a[1]).reshape(3, 2, 3, 3); b = np.array(a[2])
xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
y = np.zeros((1, 3, 4, 5))
for o in range(3):
    for i in range(4):
        for j in range(5):
            y[0, o, i, j] = (xp[0, :, i:i + 3, j:j + 3] * w[o]).sum() + b[o]
print(json.dumps(y.transpose(0, 2, 3, 1).ravel().tolist()))`,
      [values(x), torchWeight, values(conv.bias)],
    );
    assertClose(values(conv.apply(x)), expected, 'Conv2d');
    conv.dispose();
  });

  it('Conv2d with channels shared by the batch: equals apply() on the concatenation, values and weight gradients', () => {
    const conv = new Conv2d(3, 4, 3, createRng(6));
    const own = seededTensor([2, 5, 6, 1], 7) as tf.Tensor4D;
    const shared = seededTensor([1, 5, 6, 2], 8) as tf.Tensor4D;
    const weights = seededTensor([2, 5, 6, 4], 9);
    const concatenated = () => conv.apply(tf.concat([own, tf.tile(shared, [2, 1, 1, 1])], 3) as tf.Tensor4D);
    const split = () => conv.applyWithSharedChannels(own, shared);
    assertClose(values(split()), values(concatenated()), 'shared-channel conv');
    const gradients = (f: () => tf.Tensor4D) => tf.variableGrads(() => f().mul(weights).sum() as tf.Scalar, [conv.weight, conv.bias]).grads;
    const [expected, got] = [gradients(concatenated), gradients(split)];
    for (const name of Object.keys(expected)) assertClose(values(got[name]), values(expected[name]), `gradient of ${name}`);
    assert.throws(() => conv.applyWithSharedChannels(own, seededTensor([2, 5, 6, 2]) as tf.Tensor4D), /2 shared channels in a batch of 2/);
    conv.dispose();
  });

  it('Embedding: rows of the table, init U(±0.1)', () => {
    const emb = new Embedding(7, 4, createRng(5));
    assert.ok(values(emb.weight).every((v) => Math.abs(v) <= 0.1));
    const ids = tf.tensor2d(
      [
        [3, 0],
        [6, 3],
      ],
      [2, 2],
      'int32',
    );
    const out = emb.apply(ids);
    assert.deepEqual(out.shape, [2, 2, 4]);
    const table = emb.weight.arraySync() as number[][];
    assertClose(
      values(out),
      [3, 0, 6, 3].flatMap((i) => table[i]),
      'Embedding',
    );
    emb.dispose();
  });

  it('Mlp: PyTorch state_dict names, the unused output BatchNorm included in the count', () => {
    const mlp = new Mlp(8, 4, 6, createRng(6));
    assert.deepEqual(
      mlp.parameters().map((p) => p.name),
      [
        'layers.0.weight',
        'layers.0.bias',
        'layers.1.weight',
        'layers.1.bias',
        'bns.0.weight',
        'bns.0.bias',
        'bns.0.running_mean',
        'bns.0.running_var',
        'bns.0.num_batches_tracked',
        'bns.1.weight',
        'bns.1.bias',
        'bns.1.running_mean',
        'bns.1.running_var',
        'bns.1.num_batches_tracked',
      ],
    );
    // 8·4+4 + 4·6+6 + 2·4 + 2·6 (running statistics are buffers, not counted)
    assert.equal(countTrainable(mlp), 36 + 30 + 8 + 12);
    const y = mlp.apply(seededTensor([2, 3, 8]) as tf.Tensor3D, true);
    assert.deepEqual(y.shape, [2, 3, 6]);
    assert.ok(
      values(mlp.unusedOutputNorm.runningMean).every((v) => v === 0),
      'bns.1 is never applied',
    );
    mlp.dispose();
  });

  it('dropout: draws its mask from the Rng, scales kept values by 1/(1−p), identity in evaluation', () => {
    const x = tf.ones([1000]);
    const a = values(dropout(x, 0.25, { training: true, rng: createRng(3) }));
    const b = values(dropout(x, 0.25, { training: true, rng: createRng(3) }));
    assert.deepEqual(a, b);
    assert.ok(a.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6));
    const zeros = a.filter((v) => v === 0).length;
    assert.ok(zeros > 200 && zeros < 300, `${zeros} of 1000 dropped at p = 0.25`);
    assert.equal(dropout(x, 0.25, { training: false, rng: createRng(3) }), x);
  });

  it('l2Normalize: x / (‖x‖ + 1e-8), zero rows stay zero', () => {
    const y = l2Normalize(
      tf.tensor2d([
        [3, 4],
        [0, 0],
      ]),
    );
    assertClose(values(y), [3 / (5 + 1e-8), 4 / (5 + 1e-8), 0, 0], 'l2Normalize');
  });
});

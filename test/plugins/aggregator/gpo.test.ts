import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { trainableVariables } from '../../../core/nn';
import { type GpoAggregator, gpoAggregatorSpec } from '../../../plugins/aggregator/gpo';
import { maxAggregatorSpec, type MaxAggregator } from '../../../plugins/aggregator/max';
import { meanAggregatorSpec, type MeanAggregator } from '../../../plugins/aggregator/mean';
import { buildPlugin, evaluation, torchStateDict, training } from '../../support/plugin-harness';
import { runNumpyJson } from '../../support/python-env';
import { assertClose, computeOn, expectNoLeak, restoreBackendAfterSuite, seededValues, TEST_BACKENDS } from '../../support/tensors';

/** GPO in numpy from the PyTorch-layout weights: position codes → BiGRU per length → mean → linear → softmax(/0.1). */
const NUMPY_GPO = `
H = 32; D_PE = 32
W = {k: np.array(v, np.float64) for k, v in a['weights'].items()}
sig = lambda v: 1 / (1 + np.exp(-v))
def pe(n):
    div = np.exp(np.arange(0, D_PE, 2, dtype=np.float32) * np.float32(-(math.log(10000.0) / D_PE)))
    ang = np.arange(n, dtype=np.float32)[:, None] * div[None, :]
    out = np.zeros((n, D_PE), np.float32); out[:, 0::2] = np.sin(ang); out[:, 1::2] = np.cos(ang)
    return out.astype(np.float64)
def gru(seq, s):
    wih = W['gru.weight_ih_l0' + s].reshape(3 * H, D_PE); whh = W['gru.weight_hh_l0' + s].reshape(3 * H, H)
    bih = W['gru.bias_ih_l0' + s]; bhh = W['gru.bias_hh_l0' + s]; h = np.zeros(H); out = []
    for x in seq:
        gi = wih @ x + bih; gh = whh @ h + bhh
        r = sig(gi[:H] + gh[:H]); z = sig(gi[H:2*H] + gh[H:2*H]); n = np.tanh(gi[2*H:] + r * gh[2*H:])
        h = (1 - z) * n + z * h; out.append(h)
    return np.array(out)
def weights(n):
    p = pe(n); emb = (gru(p, '') + gru(p[::-1], '_reverse')[::-1]) / 2
    s = emb @ W['linear.weight'].reshape(1, H).T
    e = np.exp((s[:, 0] - s.max()) / 0.1); return e / e.sum()
out = {'weights': [weights(n).tolist() for n in a['lengths']]}
if 'features' in a:
    B, N, D = a['fshape']; f = np.array(a['features']).reshape(B, N, D); pooled = []
    for b, n in enumerate(a['flengths']):
        srt = -np.sort(-f[b, :n], axis=0)
        pooled.append((srt * weights(n)[:, None]).sum(0).tolist())
    out['pooled'] = pooled
print(json.dumps(out))
`;

describe('GpoAggregator (GPO)', () => {
  restoreBackendAfterSuite();

  it('has the reference parameter names and 12,704 parameters', async () => {
    await tf.setBackend('cpu');
    const gpo = buildPlugin<GpoAggregator>(gpoAggregatorSpec);
    const count = gpo.parameters().reduce((n, p) => n + p.variable.size, 0);
    assert.equal(count, 12_704);
    assert.ok(gpo.parameters().every((p) => p.name.startsWith('gru.') || p.name === 'linear.weight'));
    gpo.dispose();
  });

  for (const backend of TEST_BACKENDS) {
    it(`${backend}: weights for lengths 1, 2, 5, 9 and pooled features match numpy (train and eval paths)`, async () => {
      await tf.setBackend(backend);
      const gpo = buildPlugin<GpoAggregator>(gpoAggregatorSpec, { seed: 3 });
      const [b, n, d] = [4, 9, 3];
      const lengths = Int32Array.from([5, 1, 9, 2]);
      const features = seededValues(b * n * d, 5);
      const expected = runNumpyJson<{ weights: number[][]; pooled: number[][] }>(NUMPY_GPO, {
        weights: torchStateDict(gpo),
        lengths: [1, 2, 5, 9],
        features: [...features],
        fshape: [b, n, d],
        flengths: [...lengths],
      });
      for (const mode of [training(), evaluation()]) {
        const [w, pooled] = await computeOn(backend, () => [
          gpo.weightsOf(Int32Array.from([1, 2, 5, 9]), mode),
          gpo.pool(tf.tensor3d(features, [b, n, d]), lengths, mode),
        ]);
        const padded = expected.weights.flatMap((row) => [...row, ...new Array<number>(9 - row.length).fill(0)]);
        assertClose(w, padded, `weights (${mode.training ? 'train' : 'eval'})`, 1e-4, 1e-6);
        assertClose(pooled, expected.pooled.flat(), `pooled (${mode.training ? 'train' : 'eval'})`);
      }
      gpo.dispose();
    });

    it(`${backend}: gradients reach every GPO weight; a training pool leaks nothing`, async () => {
      await tf.setBackend(backend);
      const gpo = buildPlugin<GpoAggregator>(gpoAggregatorSpec);
      const x = tf.tensor3d(seededValues(2 * 4 * 3, 6), [2, 4, 3]);
      const lengths = Int32Array.from([4, 3]);
      const vars = trainableVariables(gpo);
      const step = () => tf.variableGrads(() => gpo.pool(x, lengths, training()).square().sum() as tf.Scalar, vars);
      const { grads } = step();
      assert.equal(Object.keys(grads).length, vars.length);
      for (const [name, g] of Object.entries(grads)) assert.ok(g.abs().sum().dataSync()[0] > 0, `zero gradient for ${name}`);
      tf.dispose(grads);
      await expectNoLeak(step, 'GPO training step');
      await expectNoLeak(() => gpo.pool(x, lengths, evaluation()), 'GPO eval pool');
      x.dispose();
      gpo.dispose();
    });
  }

  it('caches evaluation weights per length and drops the cache when a weight is reassigned', async () => {
    await tf.setBackend('cpu');
    const gpo = buildPlugin<GpoAggregator>(gpoAggregatorSpec);
    const base = tf.memory().numTensors;
    const read = (lengths: number[], mode = evaluation()) => {
      const w = gpo.weightsOf(Int32Array.from(lengths), mode);
      const out = Array.from(w.dataSync());
      w.dispose();
      return out;
    };
    const before = read([3]);
    assert.equal(tf.memory().numTensors, base + 1, 'one cached vector for length 3');
    read([3]);
    assert.equal(tf.memory().numTensors, base + 1, 'length 3 is served from the cache');
    read([3, 4]);
    assert.equal(tf.memory().numTensors, base + 2, 'length 4 joins the cache');
    read([3], training());
    assert.equal(tf.memory().numTensors, base, 'a training forward drops the cache');
    read([3]);
    const linear = gpo.parameters().find((p) => p.name === 'linear.weight')!.variable;
    linear.assign(tf.tidy(() => linear.mul(3)));
    const after = read([3]);
    assert.notDeepEqual(after, before, 'stale weights after the linear layer changed');
    const fresh = read([3], training());
    assertClose(after, fresh, 'eval cache = training computation');
    gpo.dispose();
  });
});

describe('MeanAggregator / MaxAggregator', () => {
  it('pool over the valid tokens only (worked by hand)', async () => {
    await tf.setBackend('cpu');
    // Row 0 has 2 valid tokens [1, 5], [3, −1]; row 1 has 1 valid token [2, 2]; padding is 100.
    const x = tf.tensor3d([
      [
        [1, 5],
        [3, -1],
        [100, 100],
      ],
      [
        [2, 2],
        [100, 100],
        [100, 100],
      ],
    ]);
    const lengths = Int32Array.from([2, 1]);
    const mean = buildPlugin<MeanAggregator>(meanAggregatorSpec).pool(x, lengths, evaluation());
    const max = buildPlugin<MaxAggregator>(maxAggregatorSpec).pool(x, lengths, evaluation());
    assertClose(Array.from(mean.dataSync()), [2, 2, 2, 2], 'mean');
    assertClose(Array.from(max.dataSync()), [3, 5, 2, 2], 'max');
  });
});

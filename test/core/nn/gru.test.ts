import { tf } from '../../../core/backend/tf';
import { BiGru } from '../../../core/nn';
import { createRng } from '../../../core/services/rng';
import { runPython } from '../../support/python-env';
import { assertClose, computeOn, restoreBackendAfterSuite, seededValues, TEST_BACKENDS } from '../../support/tensors';

/** A numpy bidirectional GRU on packed sequences, written from PyTorch's documented equations and weight layout. */
const NUMPY_GRU = `
import json, sys, numpy as np
a = json.loads(sys.argv[1])
B, T, I, H = a['shape']; lengths = a['lengths']
x = np.array(a['x']).reshape(B, T, I)
sig = lambda v: 1 / (1 + np.exp(-v))
def run(w_ih, w_hh, b_ih, b_hh, seq):
    w_ih = np.array(w_ih).reshape(3 * H, I); w_hh = np.array(w_hh).reshape(3 * H, H)
    b_ih = np.array(b_ih); b_hh = np.array(b_hh); h = np.zeros(H); out = []
    for xt in seq:
        gi = w_ih @ xt + b_ih; gh = w_hh @ h + b_hh
        r = sig(gi[:H] + gh[:H]); z = sig(gi[H:2*H] + gh[H:2*H]); n = np.tanh(gi[2*H:] + r * gh[2*H:])
        h = (1 - z) * n + z * h; out.append(h)
    return np.array(out)
fw = np.zeros((B, T, H)); bw = np.zeros((B, T, H))
for b in range(B):
    L = lengths[b]
    fw[b, :L] = run(*a['fwd'], x[b, :L])
    bw[b, :L] = run(*a['bwd'], x[b, :L][::-1])[::-1]
print(json.dumps([fw.ravel().tolist(), bw.ravel().tolist()]))
`;

describe('BiGru', () => {
  restoreBackendAfterSuite();

  it('has PyTorch names, U(±1/√H) init, and stores transposed weights', async () => {
    await tf.setBackend('cpu');
    const gru = new BiGru(3, 4, createRng(1));
    const names = gru.parameters().map((p) => `${p.name}:${p.variable.shape}`);
    const expected = ['weight_ih_l0:3,12', 'weight_hh_l0:4,12', 'bias_ih_l0:12', 'bias_hh_l0:12'];
    assertClose([names.length], [8], 'parameter count');
    for (const n of [...expected, ...expected.map((e) => e.replace(':', '_reverse:'))]) {
      if (!names.includes(n)) throw new Error(`missing ${n} in ${names}`);
    }
    const all = gru.parameters().flatMap((p) => Array.from(p.variable.dataSync()));
    if (!all.every((v) => Math.abs(v) <= 0.5)) throw new Error('init outside ±1/√4');
    gru.dispose();
  });

  for (const backend of TEST_BACKENDS) {
    it(`${backend}: both directions match a numpy GRU on packed sequences (gate order r, z, n; b_hn inside r·(…))`, async () => {
      const [b, t, inSize, h] = [3, 5, 3, 4];
      const lengths = Int32Array.from([5, 2, 3]);
      const x = seededValues(b * t * inSize, 4);
      for (let i = 0; i < b; i++) for (let s = lengths[i]; s < t; s++) x.fill(9, (i * t + s) * inSize, (i * t + s + 1) * inSize); // padding must not matter
      const gru = await (async () => {
        await tf.setBackend(backend);
        return new BiGru(inSize, h, createRng(2));
      })();
      const weights = (suffix: string) =>
        ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'].map((n) => {
          const v = gru.parameters().find((p) => p.name === n + suffix)!.variable;
          return Array.from((v.rank === 2 ? v.transpose() : v).dataSync()); // back to PyTorch layout
        });
      const expected = JSON.parse(
        runPython(NUMPY_GRU, [JSON.stringify({ shape: [b, t, inSize, h], lengths: [...lengths], x: [...x], fwd: weights(''), bwd: weights('_reverse') })]),
      ) as number[][];
      const [fw, bw] = await computeOn(backend, () => {
        const { forward, backward } = gru.run(tf.tensor3d(x, [b, t, inSize]), lengths);
        return [forward, backward];
      });
      assertClose(fw, expected[0], 'forward direction');
      assertClose(bw, expected[1], 'backward direction');
      gru.dispose();
    });
  }
});

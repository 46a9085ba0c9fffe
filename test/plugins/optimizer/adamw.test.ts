import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import type { NamedParameter } from '../../../core/contracts/module';
import { adamwSpec, type AdamW } from '../../../plugins/optimizer/adamw';
import { buildPlugin } from '../../support/plugin-harness';
import { runNumpyJson } from '../../support/python-env';
import { assertClose, expectNoLeak } from '../../support/tensors';

/** torch.optim.AdamW's update, written out in numpy (per-parameter step counts). */
const NUMPY_ADAMW = `
b1, b2, eps, wd = 0.9, 0.999, 1e-8, a['wd']
out = {}
for name, p0 in a['init'].items():
    p = np.array(p0, np.float64); m = np.zeros_like(p); v = np.zeros_like(p); t = 0
    for step in a['steps']:
        if name not in step['grads']: continue
        g = np.array(step['grads'][name]); lr = step['lr'][a['groups'][name]]; t += 1
        p = p * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps
        p = p - (lr / (1 - b1 ** t)) * m / denom
    out[name] = p.tolist()
print(json.dumps(out))
`;

describe('AdamW', () => {
  before(() => tf.setBackend('cpu'));

  const makeParams = (): NamedParameter[] => [
    { name: 'fc.weight', variable: tf.variable(tf.tensor([0.5, -1, 2, 0])), trainable: true },
    {
      name: 'bert.w',
      variable: tf.variable(
        tf.tensor([
          [1, -2],
          [3, 0.25],
        ]),
      ),
      trainable: true,
      group: 'text-backbone',
    },
  ];

  it('matches a numpy AdamW over three steps (lr groups, decoupled decay, a parameter skipped in one step)', () => {
    const opt = buildPlugin<AdamW>(adamwSpec, { args: { lr: 0.01, weightDecay: 0.1 } });
    const params = makeParams();
    const base = opt.baseLearningRates(['default', 'text-backbone']);
    assert.deepEqual(
      [...base],
      [
        ['default', 0.01],
        ['text-backbone', 0.001],
      ],
    );
    const steps = [
      { grads: { 'fc.weight': [0.1, -0.2, 0.3, 0.0], 'bert.w': [0.5, 0.5, -1, 2] }, lr: { default: 0.01, 'text-backbone': 0.001 } },
      { grads: { 'fc.weight': [1, 1, -1, 0.5] }, lr: { default: 0.01, 'text-backbone': 0.001 } },
      { grads: { 'fc.weight': [0.01, 0.02, 0.03, 0.04], 'bert.w': [-0.3, 0.2, 0.1, 0] }, lr: { default: 0.001, 'text-backbone': 0.0001 } },
    ];
    const init = Object.fromEntries(params.map((p) => [p.name, Array.from(p.variable.dataSync())]));
    for (const step of steps) {
      const grads = new Map(Object.entries(step.grads).map(([n, g]) => [n, tf.tensor(g, params.find((p) => p.name === n)!.variable.shape)]));
      opt.apply(params, grads, new Map(Object.entries(step.lr)));
      tf.dispose([...grads.values()]);
    }
    const expected = runNumpyJson<Record<string, number[]>>(NUMPY_ADAMW, {
      init,
      steps,
      wd: 0.1,
      groups: { 'fc.weight': 'default', 'bert.w': 'text-backbone' },
    });
    for (const p of params) assertClose(Array.from(p.variable.dataSync()), expected[p.name], p.name, 1e-5, 1e-7);
    opt.dispose();
  });

  it('getState / setState round-trips, and a step leaks no tensors', async () => {
    const opt = buildPlugin<AdamW>(adamwSpec);
    const params = makeParams();
    const grads = new Map(params.map((p) => [p.name, tf.onesLike(p.variable)]));
    const lrs = opt.baseLearningRates(['default', 'text-backbone']);
    opt.apply(params, grads, lrs);
    await expectNoLeak(() => opt.apply(params, grads, lrs), 'AdamW step');
    const state = opt.getState();
    assert.equal(state.step, 3);
    assert.deepEqual([...state.slots.keys()].sort(), [
      'bert.w.exp_avg',
      'bert.w.exp_avg_sq',
      'bert.w.step',
      'fc.weight.exp_avg',
      'fc.weight.exp_avg_sq',
      'fc.weight.step',
    ]);
    const other = buildPlugin<AdamW>(adamwSpec);
    other.setState(state);
    const copy = makeParams();
    params.forEach((p, i) => copy[i].variable.assign(p.variable));
    opt.apply(params, grads, lrs);
    other.apply(copy, grads, lrs);
    params.forEach((p, i) => assertClose(Array.from(copy[i].variable.dataSync()), Array.from(p.variable.dataSync()), p.name, 0, 0));
    opt.dispose();
    other.dispose();
  });
});

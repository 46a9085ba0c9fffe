import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { infoNceLossSpec, type InfoNceLoss } from '../../../plugins/loss/infonce';
import { tripletLossSpec, type TripletLoss } from '../../../plugins/loss/triplet';
import { buildPlugin } from '../../support/plugin-harness';
import { runPython } from '../../support/python-env';
import { assertClose } from '../../support/tensors';

/**
 * With images = I₃, S = I·Cᵀ = Cᵀ, so captions = Sᵀ gives any score matrix. Worked by hand, m = 0.2:
 *   S = [[0.9, 0.8, 0.1], [0.5, 0.6, 0.75], [0.2, 0.3, 0.4]]
 *   c_s (rows, vs S[i,i]):  row 0: 0.1, 0 | row 1: 0.1, 0.35 | row 2: 0, 0.1   → Σ 0.65, Σ max 0.1+0.35+0.1 = 0.55
 *   c_i (cols, vs S[j,j]):  col 0: 0, 0   | col 1: 0.4, 0    | col 2: 0, 0.55  → Σ 0.95, Σ max 0+0.4+0.55 = 0.95
 *   VSE0 = 0.65 + 0.95 = 1.6;  VSE++ = 0.55 + 0.95 = 1.5.
 */
const S = [
  [0.9, 0.8, 0.1],
  [0.5, 0.6, 0.75],
  [0.2, 0.3, 0.4],
];

describe('TripletLoss', () => {
  before(() => tf.setBackend('cpu'));
  const images = () => tf.eye(3) as tf.Tensor2D;
  const captions = () => tf.tensor2d(S).transpose() as tf.Tensor2D;

  it('sums over all negatives during warm-up (VSE0): 1.6', () => {
    const loss = buildPlugin<TripletLoss>(tripletLossSpec);
    assertClose([loss.compute(images(), captions(), { epoch: 0, step: 0 }).dataSync()[0]], [1.6], 'VSE0', 1e-6);
  });

  it('uses the hardest negative after warm-up (VSE++): 1.5', () => {
    const loss = buildPlugin<TripletLoss>(tripletLossSpec);
    assertClose([loss.compute(images(), captions(), { epoch: 1, step: 10 }).dataSync()[0]], [1.5], 'VSE++', 1e-6);
  });

  it('warmupEpochs 0 is hardest-negative from the start; the margin is an option', () => {
    const loss = buildPlugin<TripletLoss>(tripletLossSpec, { args: { warmupEpochs: 0, margin: 0 } });
    // m = 0, hardest: rows of c_s max to 0, 0.75 − 0.6 = 0.15, 0; columns of c_i to 0, 0.8 − 0.6 = 0.2, 0.75 − 0.4 = 0.35.
    assertClose([loss.compute(images(), captions(), { epoch: 0, step: 0 }).dataSync()[0]], [0.15 + 0.2 + 0.35], 'm = 0', 1e-6);
  });

  it('gives a gradient only through violating pairs', () => {
    const loss = buildPlugin<TripletLoss>(tripletLossSpec);
    const c = captions();
    const g = tf.grad((x: tf.Tensor) => loss.compute(images(), x as tf.Tensor2D, { epoch: 1, step: 0 }))(c);
    assert.equal(g.shape.join(), '3,3');
    assert.ok(g.abs().sum().dataSync()[0] > 0);
  });
});

describe('InfoNceLoss', () => {
  before(() => tf.setBackend('cpu'));

  it("is CLIP's symmetric cross-entropy at scale 1/0.07 (numpy), with a learnable logit_scale", () => {
    const loss = buildPlugin<InfoNceLoss>(infoNceLossSpec);
    const [p] = loss.parameters();
    assert.equal(p.name, 'logit_scale');
    assertClose([p.variable.dataSync()[0]], [Math.log(1 / 0.07)], 'init log(1/0.07)', 1e-6);
    const got = loss.compute(tf.eye(3) as tf.Tensor2D, tf.tensor2d(S).transpose() as tf.Tensor2D, { epoch: 0, step: 0 }).dataSync()[0];
    const expected = Number(
      runPython(`import numpy as np
S = np.array(${JSON.stringify(S)}) / 0.07
ce = lambda L: np.mean(-np.diag(L - np.log(np.exp(L).sum(1, keepdims=True))))
print((ce(S) + ce(S.T)) / 2)`),
    );
    assertClose([got], [expected], 'InfoNCE', 1e-5);
    const grads = tf.variableGrads(
      () => loss.compute(tf.eye(3) as tf.Tensor2D, tf.tensor2d(S).transpose() as tf.Tensor2D, { epoch: 0, step: 0 }),
      [p.variable],
    );
    assert.ok(Math.abs(grads.grads[p.variable.name].dataSync()[0]) > 0, 'logit_scale gets a gradient');
    loss.dispose();
  });
});

import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { boxPoolingWeights, cnnBackboneSpec, poolBoxes, type CnnBackbone } from '../../../plugins/backbone/cnn';
import { buildPlugin, evaluation, training, TINY_INFO } from '../../support/plugin-harness';
import { seededTensor } from '../../support/tensors';

const INFO = { ...TINY_INFO, imageSize: 16 };

describe('CnnBackbone', () => {
  before(() => tf.setBackend('cpu'));

  it('gives a grid of g² cell tokens, g = S / 2^stages, F = the last width', () => {
    const cnn = buildPlugin<CnnBackbone>(cnnBackboneSpec, { info: INFO, args: { channels: [4, 6] } });
    assert.equal(cnn.outputDim, 6);
    assert.equal(cnn.gridSize, 4);
    const pixels = seededTensor([2, 16, 16, 3]) as tf.Tensor4D;
    const { features, lengths } = cnn.extract({ batchSize: 2, pixels }, evaluation());
    assert.deepEqual(features.shape, [2, 16, 6]);
    assert.deepEqual(Array.from(lengths), [16, 16]);
    tf.dispose([pixels, features]);
    cnn.dispose();
  });

  it('passes a gradient to every conv weight through the box pooling', () => {
    const cnn = buildPlugin<CnnBackbone>(cnnBackboneSpec, { info: INFO, args: { channels: [4, 6, 8], output: 'regions' } });
    const pixels = seededTensor([2, 16, 16, 3]) as tf.Tensor4D;
    const boxes = tf.tensor3d([0, 0, 0.5, 0.5, 0.25, 0.25, 1, 1, 0.5, 0, 1, 0.5, 0, 0, 1, 1], [2, 2, 4]);
    const weights = cnn.parameters().filter((p) => p.trainable);
    const { grads } = tf.variableGrads(
      () => {
        const { features } = cnn.extract({ batchSize: 2, pixels, boxes }, training());
        return features.square().sum() as tf.Scalar;
      },
      weights.map((p) => p.variable),
    );
    const convWeights = weights.filter((p) => /conv\.weight$/.test(p.name));
    assert.equal(convWeights.length, 3);
    for (const p of weights) {
      const g = grads[p.variable.name];
      assert.ok(g, `no gradient for ${p.name}`);
      assert.ok(tf.tidy(() => g.abs().max().dataSync()[0]) > 0, `zero gradient for ${p.name}`);
    }
    tf.dispose([pixels, boxes, ...Object.values(grads)]);
    cnn.dispose();
  });

  it('averages the cells whose centres lie inside each box, on a hand-made 4×4 map', () => {
    // Cell (y, x) holds [4y + x, 1]. Image 0: a box over the top-left quarter, one over rows 1-2 × columns 2-3,
    // a box smaller than a cell (no centre inside: the cell holding its centre), and a padded row past length 3.
    const map = tf.tensor4d(Array.from({ length: 16 }, (_, k) => [k, 1]).flat(), [1, 4, 4, 2]);
    const boxes = Float32Array.from([0, 0, 0.5, 0.5, 0.5, 0.25, 1, 0.75, 0.3, 0.3, 0.32, 0.32, 0, 0, 1, 1]);
    const weights = boxPoolingWeights(boxes, Int32Array.from([3]), 1, 4, 4);
    const pooled = poolBoxes(map, weights, 4);
    assert.deepEqual(pooled.shape, [1, 4, 2]);
    assert.deepEqual(Array.from(pooled.dataSync()), [2.5, 1, 8.5, 1, 5, 1, 0, 0]);
    tf.dispose([map, pooled]);
  });

  it('names the missing input', () => {
    const cnn = buildPlugin<CnnBackbone>(cnnBackboneSpec, { info: INFO, args: { output: 'regions' } });
    assert.throws(() => cnn.extract({ batchSize: 1 }, evaluation()), /needs ImageInputs\.pixels/);
    const pixels = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    assert.throws(() => cnn.extract({ batchSize: 1, pixels }, evaluation()), /needs ImageInputs\.boxes/);
    pixels.dispose();
    assert.throws(() => buildPlugin(cnnBackboneSpec, { info: TINY_INFO }), /needs a data set with pixels/);
  });
});

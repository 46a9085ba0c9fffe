import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { spatialHighlightSpec, type SpatialHighlight } from '../../../plugins/highlight/spatial';
import { buildPlugin, evaluation, NUMPY_MODULES, TINY_INFO, torchStateDict, training } from '../../support/plugin-harness';
import { runNumpyJson } from '../../support/python-env';
import { assertClose, seededValues } from '../../support/tensors';

/** VSpM in numpy (reference Crossmodal_Fusion4_sp), NCHW as the reference computes it. */
const NUMPY_VSPM = `
w = a['w']
${NUMPY_MODULES}
B, R, D = a['shape']; m = a['m']; k = a['k']; lam = a['lam']; train = a['train']
V0 = np.array(a['v0']).reshape(B, R, D); M = np.array(a['map']).reshape(B, m, m)
Q = mlp(V0, 'MLP_image', train)
x = np.concatenate([M.reshape(B, m * m, 1), np.repeat(pe(m * m, 8)[None], B, 0)], -1).reshape(B, m, m, 9).transpose(0, 3, 1, 2)
K = relu(bn(conv3(x, 'embedding_Seg.0'), 'embedding_Seg.1', train)).reshape(B, k, m * m)
A = softmax(lam * (Q @ K) / np.sqrt(k), -1)
ctx = A @ K.transpose(0, 2, 1)
out = mlp(ctx * rows_mask(a['lengths'], R)[..., None] + Q, 'embed_fusion', train)
print(json.dumps(out.ravel().tolist()))
`;

describe('SpatialHighlight (VSpM)', () => {
  before(() => tf.setBackend('cpu'));
  const [b, r, d, k] = [2, 3, 8, 4];
  const m = TINY_INFO.mapSize;
  const lengths = Int32Array.from([3, 1]);
  const v0 = seededValues(b * r * d, 3);
  const labels = Float32Array.from(seededValues(b * m * m, 4), (x) => Math.floor((x + 1) * 2.5)); // class ids 0..4
  const segmentation = (size = m) => ({
    classGrid: tf.zeros([b, 5, 3, 3]) as tf.Tensor4D,
    labelMap: size === m ? tf.tensor3d(labels, [b, m, m]) : (tf.zeros([b, size, size]) as tf.Tensor3D),
    categories: tf.zeros([b, 5]) as tf.Tensor2D,
  });

  for (const train of [false, true]) {
    it(`${train ? 'training' : 'evaluation'}: attention over the position-augmented map matches numpy (λ = 4)`, () => {
      const vspm = buildPlugin<SpatialHighlight>(spatialHighlightSpec, { args: { embedDim: d, keyDim: k } });
      const expected = runNumpyJson<number[]>(NUMPY_VSPM, {
        w: torchStateDict(vspm),
        shape: [b, r, d],
        m,
        k,
        lam: 4,
        v0: [...v0],
        map: [...labels],
        lengths: [...lengths],
        train,
      });
      const out = vspm.highlight(tf.tensor3d(v0, [b, r, d]), lengths, segmentation(), train ? training() : evaluation());
      assert.deepEqual(out.shape, [b, r, d]);
      assertClose(Array.from(out.dataSync()), expected, 'VSpM output');
      vspm.dispose();
    });
  }

  it('follows DataInfo.mapSize and rejects a map of another size', () => {
    const vspm = buildPlugin<SpatialHighlight>(spatialHighlightSpec, { args: { embedDim: d, keyDim: k } });
    assert.throws(() => vspm.highlight(tf.tensor3d(v0, [b, r, d]), lengths, segmentation(6), evaluation()), /6×6, but DataInfo\.mapSize is 8/);
    vspm.dispose();
  });

  it('has the reference parameter count (1,196,928 at D = 1024)', () => {
    const vspm = buildPlugin<SpatialHighlight>(spatialHighlightSpec);
    assert.equal(
      vspm
        .parameters()
        .filter((p) => p.trainable)
        .reduce((n, p) => n + p.variable.size, 0),
      1_196_928,
    );
    vspm.dispose();
  });
});

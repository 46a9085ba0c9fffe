import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { semanticHighlightSpec, type SemanticHighlight } from '../../../plugins/highlight/semantic';
import { buildPlugin, evaluation, NUMPY_MODULES, TINY_INFO, torchStateDict, training } from '../../support/plugin-harness';
import { runNumpyJson } from '../../support/python-env';
import { assertClose, seededValues } from '../../support/tensors';

/** VSeM in numpy (reference Crossmodal_Fusion4_sm, dropout off). Inputs: V0 [B,R,D], S [B,C,g,g], lengths. */
const NUMPY_VSEM = `
w = a['w']
${NUMPY_MODULES}
B, R, D = a['shape']; C, g = a['C'], a['g']; train = a['train']
V0 = np.array(a['v0']).reshape(B, R, D); S = np.array(a['seg']).reshape(B, C, g, g)
mask = rows_mask(a['lengths'], R)
X = V0 + mlp(V0, 'MLP_image', train)
q0 = ln(relu(lin(S.mean((2, 3)), 'embed_seg_HW.2')), 'embed_seg_HW.5')[:, None, :]
q = q0 + mlp(q0, 'MLP_seg', train)
gate = sig((X * q).sum(-1) / np.sqrt(D)) * mask
Xw = gate[..., None] * X
out = relu(lin(Xw * np.tanh(lin(Xw, 'fc_scale')) + q * mask[..., None], 'fc_1'))
print(json.dumps({'out': out.ravel().tolist(), 'gate': gate.ravel().tolist()}))
`;

describe('SemanticHighlight (VSeM)', () => {
  before(() => tf.setBackend('cpu'));
  const [b, r, d] = [3, 4, 8];
  const { numClasses: c, gridSize: g } = TINY_INFO;
  const lengths = Int32Array.from([4, 2, 3]);
  const v0 = seededValues(b * r * d, 1);
  const seg = seededValues(b * c * g * g, 2).map((x) => x + 1);
  const segmentation = () => ({
    classGrid: tf.tensor4d(seg, [b, c, g, g]),
    labelMap: tf.zeros([b, 8, 8]) as tf.Tensor3D,
    categories: tf.zeros([b, c]) as tf.Tensor2D,
  });

  for (const train of [false, true]) {
    it(`${train ? 'training (batch statistics over padded tokens too)' : 'evaluation'}: sigmoid gate and refine match numpy`, () => {
      const vsem = buildPlugin<SemanticHighlight>(semanticHighlightSpec, { args: { embedDim: d, dropout: 0 } });
      const expected = runNumpyJson<{ out: number[] }>(NUMPY_VSEM, {
        w: torchStateDict(vsem),
        shape: [b, r, d],
        C: c,
        g,
        v0: [...v0],
        seg: [...seg],
        lengths: [...lengths],
        train,
      });
      const out = vsem.highlight(tf.tensor3d(v0, [b, r, d]), lengths, segmentation(), train ? training() : evaluation());
      assert.deepEqual(out.shape, [b, r, d]);
      assertClose(Array.from(out.dataSync()), expected.out, 'VSeM output');
      vsem.dispose();
    });
  }

  it('padded regions carry ReLU(fc_1.bias) and do not influence valid ones in evaluation', () => {
    const vsem = buildPlugin<SemanticHighlight>(semanticHighlightSpec, { args: { embedDim: d } });
    const other = Float32Array.from(v0);
    other.fill(50, (1 * r + 2) * d, (1 * r + 4) * d); // change image 1's padded regions
    const a = vsem.highlight(tf.tensor3d(v0, [b, r, d]), lengths, segmentation(), evaluation()).arraySync();
    const z = vsem.highlight(tf.tensor3d(other, [b, r, d]), lengths, segmentation(), evaluation()).arraySync();
    assertClose(a[1].slice(0, 2).flat(), z[1].slice(0, 2).flat(), 'valid regions of image 1');
    const bias = vsem
      .parameters()
      .find((p) => p.name === 'fc_1.bias')!
      .variable.dataSync();
    assertClose(
      a[1][3],
      Array.from(bias, (x) => Math.max(x, 0)),
      'padded region = ReLU(b₁)',
    );
    vsem.dispose();
  });

  it('has the reference parameter names and count (4,344,832 at D = 1024, C = 133)', () => {
    const vsem = buildPlugin<SemanticHighlight>(semanticHighlightSpec, { info: { ...TINY_INFO, numClasses: 133 } });
    const trainable = vsem.parameters().filter((p) => p.trainable);
    assert.equal(
      trainable.reduce((n, p) => n + p.variable.size, 0),
      4_344_832,
    );
    assert.deepEqual(
      [
        ...new Set(
          vsem.parameters().map((p) =>
            p.name
              .split('.')
              .slice(0, p.name.startsWith('embed') ? 2 : 1)
              .join('.'),
          ),
        ),
      ],
      ['MLP_image', 'MLP_seg', 'embed_seg_HW.2', 'embed_seg_HW.5', 'fc_scale', 'fc_1'],
    );
    vsem.dispose();
  });
});

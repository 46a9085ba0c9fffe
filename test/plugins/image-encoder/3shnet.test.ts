import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import type { ImageInputs } from '../../../core/contracts/image';
import { l2Normalize, trainableVariables } from '../../../core/nn';
import type { GpoAggregator } from '../../../plugins/aggregator/gpo';
import { compactionOrder } from '../../../plugins/image-encoder/3shnet';
import { buildImageEncoder, FULL, tinyImages, VSE_INFINITY } from '../../support/model-fixtures';
import { COCO_INFO, evaluation, NUMPY_MODULES, torchStateDict, training } from '../../support/plugin-harness';
import { runNumpyJson } from '../../support/python-env';
import { assertClose, restoreBackendAfterSuite, seededValues, TEST_BACKENDS } from '../../support/tensors';

const trainableCount = (names: { name: string; variable: tf.Variable; trainable: boolean }[], prefix: string) =>
  names.filter((p) => p.trainable && p.name.startsWith(prefix)).reduce((n, p) => n + p.variable.size, 0);

describe('ShnetImageEncoder (3SHNet image side)', () => {
  restoreBackendAfterSuite();
  before(() => tf.setBackend('cpu'));

  it('has 11,615,008 parameters at D = 1024, F = 2048, C = 133: the sum of the docs/model.md table, block by block', () => {
    const enc = buildImageEncoder(FULL, COCO_INFO, 1024);
    const params = enc.parameters();
    const table: [string, number][] = [
      ['fc.', 2_098_176],
      ['mlp.', 1_577_472],
      ['embed_seg_C.', 139_264],
      ['embed_category.', 139_264],
      ['seg_mlp.', 1_053_184],
      ['fusion_mlp.', 1_053_184],
      ['crossmodalfusion_sm.', 4_344_832],
      ['crossmodalfusion_sp.', 1_196_928],
      ['gpool.', 12_704],
    ];
    for (const [prefix, count] of table) assert.equal(trainableCount(params, prefix), count, prefix);
    assert.equal(trainableCount(params, ''), 11_615_008);
    assert.equal(
      table.reduce((n, [, c]) => n + c, 0),
      11_615_008,
    );
    enc.dispose();
  });

  it('reduces to the VSE∞ region encoder with no segmenter, no highlights and no extra tokens (≈3.69M parameters)', () => {
    const big = buildImageEncoder(VSE_INFINITY, COCO_INFO, 1024);
    assert.equal(trainableCount(big.parameters(), ''), 2_098_176 + 1_577_472 + 12_704);
    big.dispose();
    const enc = buildImageEncoder(VSE_INFINITY);
    assert.deepEqual([...new Set(enc.parameters().map((p) => p.name.split('.')[0]))], ['fc', 'mlp', 'gpool']);
    // fc + MLP residual in numpy, then the (separately verified) GPO and the +1e-8 L2 norm.
    const inputs = tinyImages([4, 2, 3]);
    const tokens = runNumpyJson<number[]>(
      `w = a['w']\n${NUMPY_MODULES}\nx = np.array(a['x']).reshape(3, 4, 12)\nprint(json.dumps((lin(x, 'fc') + mlp(x, 'mlp', False)).ravel().tolist()))`,
      { w: torchStateDict(enc), x: Array.from(inputs.regions!.dataSync()) },
    );
    const gpo = (enc as unknown as { parts: { aggregator: GpoAggregator } }).parts.aggregator;
    const expected = l2Normalize(gpo.pool(tf.tensor3d(tokens, [3, 4, 8]), Int32Array.from([4, 2, 3]), evaluation()));
    assertClose(Array.from(enc.encode(inputs, evaluation()).dataSync()), Array.from(expected.dataSync()), 'VSE∞ embedding');
    enc.dispose();
  });

  it('orders the token set as the reference: [c | V_1..L | F_1..L | G | padded V | padded F] (worked by hand)', () => {
    // Source rows per image: c = 0, V = 1..3, F = 4..6, G = 7..8 (width 9). Image 1 has L = 1.
    const { order, counts } = compactionOrder(Int32Array.from([3, 1]), { category: 1, regions: 3, fused: true, grid: 2 });
    assert.deepEqual(Array.from(counts), [1 + 3 + 3 + 2, 1 + 1 + 1 + 2]);
    assert.deepEqual(Array.from(order!.slice(0, 9)), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(
      Array.from(order!.slice(9)),
      [0, 1, 4, 7, 8, 2, 3, 5, 6].map((i) => i + 9),
    );
    assert.equal(compactionOrder(Int32Array.from([3, 3]), { category: 1, regions: 3, fused: true, grid: 2 }).order, null);
  });

  it('pads correctly: in evaluation an image with padded regions embeds as it does alone without padding', () => {
    const enc = buildImageEncoder(FULL);
    const batch = tinyImages([4, 2, 3]);
    const together = enc.encode(batch, evaluation()).arraySync();
    const alone: ImageInputs = {
      batchSize: 1,
      regions: batch.regions!.slice([1, 0, 0], [1, 2, 12]),
      regionLengths: Int32Array.from([2]),
      segmentation: {
        classGrid: batch.segmentation!.classGrid.slice([1, 0, 0, 0], [1, -1, -1, -1]),
        labelMap: batch.segmentation!.labelMap.slice([1, 0, 0], [1, -1, -1]),
        categories: batch.segmentation!.categories.slice([1, 0], [1, -1]),
      },
    };
    assertClose(enc.encode(alone, evaluation()).arraySync()[0], together[1], 'image 1 alone vs in the batch');
    enc.dispose();
  });

  it('is deterministic in evaluation, and in training given the same Rng seed', () => {
    const enc = buildImageEncoder(FULL);
    const batch = tinyImages([4, 3, 4]);
    const e1 = Array.from(enc.encode(batch, evaluation()).dataSync());
    assert.deepEqual(Array.from(enc.encode(batch, evaluation()).dataSync()), e1);
    const norms = tf.tidy(() => tf.norm(tf.tensor2d(e1, [3, 8]), 2, 1).dataSync());
    assertClose(Array.from(norms), [1, 1, 1], 'unit norm', 1e-5);
    const twin = buildImageEncoder(FULL);
    const t1 = Array.from(enc.encode(batch, training(5)).dataSync());
    const t2 = Array.from(twin.encode(batch, training(5)).dataSync());
    assert.deepEqual(t2, t1, 'same seed, same init → same training forward');
    assert.notDeepEqual(Array.from(twin.encode(batch, training(6)).dataSync()), t1);
    enc.dispose();
    twin.dispose();
  });

  it('refuses highlights or extra tokens without a segmenter, naming them', () => {
    assert.throws(
      () => buildImageEncoder({ semantic: true, categoryToken: true, segmentGridTokens: false }),
      /categoryToken, highlight\.semantic need segmentation/,
    );
  });

  for (const backend of TEST_BACKENDS) {
    it(`${backend}: gradients reach every trainable weight (except the reference's never-applied output BatchNorms)`, async () => {
      await tf.setBackend(backend);
      const enc = buildImageEncoder(FULL);
      const batch = tinyImages([4, 3, 2]);
      const params = enc.parameters().filter((p) => p.trainable);
      const { grads } = tf.variableGrads(() => {
        const v = enc.encode(batch, training(3));
        return v.mul(tf.tensor2d(seededValues(3 * 8, 9), [3, 8])).sum() as tf.Scalar;
      }, trainableVariables(enc));
      const unused = params.filter((p) => /(^|\.)(mlp|MLP_image|MLP_seg|embed_fusion|seg_mlp|fusion_mlp)\.bns\.1\./.test(p.name));
      assert.equal(unused.length, 2 * 7, 'seven MLPs, each with an unused bns.1 (weight, bias)');
      for (const p of params) {
        const g = grads[p.variable.name];
        if (unused.includes(p)) {
          assert.equal(g, undefined, `${p.name} is never applied and gets no gradient`);
          continue;
        }
        assert.ok(g != null && g.abs().max().dataSync()[0] > 0, `no gradient reaches ${p.name}`);
      }
      tf.dispose(grads);
      enc.dispose();
    });
  }
});

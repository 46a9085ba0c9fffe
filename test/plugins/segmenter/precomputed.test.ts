import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { precomputedSegmenterSpec, type PrecomputedSegmenter } from '../../../plugins/segmenter/precomputed';
import { buildPlugin, evaluation } from '../../support/plugin-harness';

describe('PrecomputedSegmenter', () => {
  before(() => tf.setBackend('cpu'));

  it("returns the data set's segmentation tensors", () => {
    const seg = {
      classGrid: tf.zeros([1, 5, 3, 3]) as tf.Tensor4D,
      labelMap: tf.zeros([1, 8, 8]) as tf.Tensor3D,
      categories: tf.zeros([1, 5]) as tf.Tensor2D,
    };
    const s = buildPlugin<PrecomputedSegmenter>(precomputedSegmenterSpec);
    const out = s.segment({ batchSize: 1, segmentation: seg }, evaluation());
    assert.equal(out.classGrid, seg.classGrid);
    assert.equal(out.labelMap, seg.labelMap);
    assert.equal(out.categories, seg.categories);
  });

  it('names the missing field when the data set has no segmentation', () => {
    const s = buildPlugin<PrecomputedSegmenter>(precomputedSegmenterSpec);
    assert.throws(() => s.segment({ batchSize: 1 }, evaluation()), /ImageInputs\.segmentation \(classGrid, labelMap, categories\)/);
    const partial = { classGrid: tf.zeros([1, 5, 3, 3]), categories: tf.zeros([1, 5]) } as never;
    assert.throws(() => s.segment({ batchSize: 1, segmentation: partial }, evaluation()), /lacks 'labelMap'/);
  });
});

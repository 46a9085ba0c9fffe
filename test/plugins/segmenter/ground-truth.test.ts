import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { disposeImageInputs, imageInputsFromHost } from '../../../core/train/inputs';
import { ShapesDataset, resolveShapesOptions, shapesDataInfo } from '../../../plugins/dataset/shapes';
import { groundTruthSegmenterSpec, type GroundTruthSegmenter } from '../../../plugins/segmenter/ground-truth';
import { buildPlugin, evaluation } from '../../support/plugin-harness';

describe('GroundTruthSegmenter', () => {
  before(() => tf.setBackend('cpu'));

  it("derives exactly the shapes data set's class grid, label map and categories from its label map", async () => {
    const options = resolveShapesOptions({ seed: 4, trainSize: 6, devSize: 1, testSize: 1 });
    const split = await new ShapesDataset(options).open('train');
    const host = await split.loadImages([0, 1, 2, 3, 4, 5]);
    const inputs = imageInputsFromHost(host);
    const segmenter = buildPlugin<GroundTruthSegmenter>(groundTruthSegmenterSpec, { info: shapesDataInfo(options) });
    try {
      // Only the label map goes in: the derived arrays must come from it, not from the batch.
      const out = tf.tidy(() => {
        const seg = segmenter.segment(
          { batchSize: 6, segmentation: { ...inputs.segmentation!, classGrid: tf.zeros([6, 7, 7, 7]), categories: tf.zeros([6, 7]) } },
          evaluation(),
        );
        return { classGrid: seg.classGrid.dataSync(), labelMap: seg.labelMap.dataSync(), categories: seg.categories.dataSync(), shape: seg.classGrid.shape };
      });
      const expected = host.segmentation!;
      assert.deepEqual(out.shape, [6, 7, 7, 7]);
      assert.deepEqual(Array.from(out.classGrid), Array.from(expected.classGrid.data));
      assert.deepEqual(Array.from(out.labelMap), Array.from(expected.labelMap.data));
      assert.deepEqual(Array.from(out.categories), Array.from(expected.categories.data));
    } finally {
      disposeImageInputs(inputs);
    }
  });

  it('leaves no tensor behind inside a tidy scope, and names the missing label map', () => {
    const segmenter = buildPlugin<GroundTruthSegmenter>(groundTruthSegmenterSpec);
    const labelMap = tf.tensor3d(
      Array.from({ length: 2 * 64 }, (_, k) => k % 5),
      [2, 8, 8],
    );
    const before = tf.memory().numTensors;
    tf.tidy(() => void segmenter.segment({ batchSize: 2, segmentation: { labelMap } as never }, evaluation()));
    assert.equal(tf.memory().numTensors, before);
    labelMap.dispose();
    assert.throws(() => segmenter.segment({ batchSize: 1 }, evaluation()), /needs the data set's label map/);
  });
});

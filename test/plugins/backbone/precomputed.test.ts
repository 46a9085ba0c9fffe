import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import type { Rng } from '../../../core/contracts/services';
import { precomputedBackboneSpec, type PrecomputedBackbone } from '../../../plugins/backbone/precomputed';
import { buildPlugin, evaluation, TINY_INFO } from '../../support/plugin-harness';

/** A stream that returns the given draws in order (the region-dropout rule is easiest to check on known draws). */
function fixedDraws(draws: number[]): Rng {
  let i = 0;
  const rng: Rng = {
    next: () => draws[i++],
    int: (n) => Math.floor(draws[i++] * n),
    fork: () => rng,
    state: () => [i],
    restore: (s) => void (i = s[0]),
  };
  return rng;
}

describe('PrecomputedBackbone', () => {
  before(() => tf.setBackend('cpu'));
  // Region j of image i has feature [10·i + j, −(10·i + j)].
  const regions = tf.tensor3d(
    [0, 1, 2, 3, 10, 11, 12, 13].flatMap((v) => [v, -v]),
    [2, 4, 2],
  );

  it('passes features through in evaluation, lengths default to R', () => {
    const bb = buildPlugin<PrecomputedBackbone>(precomputedBackboneSpec, { info: { ...TINY_INFO, featureDim: 2 } });
    assert.equal(bb.outputDim, 2);
    const { features, lengths } = bb.extract({ batchSize: 2, regions }, evaluation());
    assert.deepEqual(Array.from(lengths), [4, 4]);
    assert.deepEqual(Array.from(features.dataSync()), Array.from(regions.dataSync()));
  });

  it('drops regions whose draw is ≤ p, keeps the rest first in order, re-pads to the longest kept length', () => {
    const bb = buildPlugin<PrecomputedBackbone>(precomputedBackboneSpec, { info: { ...TINY_INFO, featureDim: 2 } });
    // p = 0.2. Image 0 (4 valid): draws 0.9 keep, 0.1 drop, 0.5 keep, 0.3 keep → regions 0, 2, 3.
    // Image 1 (3 valid; region 3 is padding and draws nothing): 0.05 drop, 0.7 keep, 0.25 keep → regions 1, 2.
    const rng = fixedDraws([0.9, 0.1, 0.5, 0.3, 0.05, 0.7, 0.25]);
    const { features, lengths } = bb.extract({ batchSize: 2, regions, regionLengths: Int32Array.from([4, 3]) }, { training: true, rng });
    assert.deepEqual(Array.from(lengths), [3, 2]);
    assert.deepEqual(features.shape, [2, 3, 2]);
    assert.deepEqual(Array.from(features.dataSync()), [0, -0, 2, -2, 3, -3, 11, -11, 12, -12, 0, 0]);
    assert.equal(rng.state()[0], 7, 'one draw per valid region');
  });

  it("keeps the region with the highest draw when every draw would drop its image's regions", () => {
    const bb = buildPlugin<PrecomputedBackbone>(precomputedBackboneSpec, { info: { ...TINY_INFO, featureDim: 2 } });
    // p = 0.2. Image 0: 0.1, 0.15, 0.05, 0.12 all drop → region 1 (highest draw) stays. Image 1 (2 valid): 0.9 keep, 0.1 drop.
    const rng = fixedDraws([0.1, 0.15, 0.05, 0.12, 0.9, 0.1]);
    const { features, lengths } = bb.extract({ batchSize: 2, regions, regionLengths: Int32Array.from([4, 2]) }, { training: true, rng });
    assert.deepEqual(Array.from(lengths), [1, 1]);
    assert.deepEqual(Array.from(features.dataSync()), [1, -1, 10, -10]);
    assert.equal(rng.state()[0], 6, 'still one draw per valid region');
  });

  it('names the missing input', () => {
    const bb = buildPlugin<PrecomputedBackbone>(precomputedBackboneSpec);
    assert.throws(() => bb.extract({ batchSize: 1 }, evaluation()), /needs ImageInputs\.regions/);
    assert.throws(() => buildPlugin(precomputedBackboneSpec, { info: { ...TINY_INFO, featureDim: undefined } }), /DataInfo\.featureDim is unset/);
  });
});

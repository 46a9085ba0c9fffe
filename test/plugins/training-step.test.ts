import { strict as assert } from 'node:assert';
import { tf } from '../../core/backend/tf';
import type { NamedParameter } from '../../core/contracts/module';
import { clipByGlobalNorm } from '../../core/nn';
import { createRng } from '../../core/services/rng';
import { tripletLossSpec, type TripletLoss } from '../../plugins/loss/triplet';
import { adamwSpec, type AdamW } from '../../plugins/optimizer/adamw';
import { buildImageEncoder, buildTextEncoder, FULL, tinyImages } from '../support/model-fixtures';
import { buildPlugin } from '../support/plugin-harness';
import { expectNoLeak, restoreBackendAfterSuite, TEST_BACKENDS } from '../support/tensors';

const CAPTIONS = ['a man rides a horse', 'a dog runs on the beach', 'two men ride horses'];

describe('one training step: 3SHNet image encoder + BiGRU text encoder + triplet loss + AdamW', () => {
  restoreBackendAfterSuite();

  for (const backend of TEST_BACKENDS) {
    it(`${backend}: leaves tf.memory().numTensors unchanged after a warm-up step, and changes every trained weight`, async () => {
      await tf.setBackend(backend);
      const image = buildImageEncoder(FULL);
      const text = buildTextEncoder({ embedDim: 8 });
      text.prepare(CAPTIONS);
      const loss = buildPlugin<TripletLoss>(tripletLossSpec, { args: { warmupEpochs: 0 } });
      const optimizer = buildPlugin<AdamW>(adamwSpec);
      const params: NamedParameter[] = [
        ...image.parameters().map((p) => ({ ...p, name: `image.${p.name}` })),
        ...text.parameters().map((p) => ({ ...p, name: `text.${p.name}` })),
      ];
      const trainable = params.filter((p) => p.trainable);
      const rng = createRng(11);
      const batch = tinyImages([4, 3, 2]);
      const lrs = optimizer.baseLearningRates(['default']);
      const step = () => {
        const mode = { training: true, rng };
        const { value, grads } = tf.variableGrads(
          () => loss.compute(image.encode(batch, mode), text.encode(CAPTIONS, mode), { epoch: 1, step: 0 }),
          trainable.map((p) => p.variable),
        );
        const named = new Map(trainable.filter((p) => grads[p.variable.name]).map((p) => [p.name, grads[p.variable.name]]));
        const clipped = clipByGlobalNorm(named, 2.0);
        optimizer.apply(params, clipped.grads, lrs);
        tf.dispose([value, ...Object.values(grads), ...clipped.grads.values()]);
      };
      const before = new Map(trainable.map((p) => [p.name, Array.from(p.variable.dataSync())]));
      await expectNoLeak(step, 'training step');
      const unchanged = trainable.filter((p) => {
        const now = p.variable.dataSync();
        return before.get(p.name)!.every((v, i) => v === now[i]);
      });
      // Only the never-applied output BatchNorms of the seven MLPs keep their values (no gradient, and AdamW
      // skips parameters without one, as PyTorch does for grad None).
      assert.deepEqual(
        unchanged.map((p) => p.name).filter((n) => !/\.bns\.1\./.test(n)),
        [],
      );
      assert.equal(unchanged.length, 14);
      image.dispose();
      text.dispose();
      optimizer.dispose();
    });
  }
});

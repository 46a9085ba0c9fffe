/**
 * The memory guard refuses a model or a batch that does not fit, with a message, before anything can crash: weights
 * are refused while they are drawn, and a training step by its analytic floor before it is probed.
 */
import { strict as assert } from 'node:assert';
import { DEFAULT_WASM_SAFE_BYTES, setWasmSafeLimit } from '../../../core/backend/memory-guard';
import { tf } from '../../../core/backend/tf';
import { UsageError } from '../../../core/errors';
import { Linear } from '../../../core/nn/linear';
import { createRng } from '../../../core/services/rng';
import { assertStepFits } from '../../../core/train/memory';
import { runParameters } from '../../../core/train/parameters';
import { batchesOf, captionBatchLoader, epochOrder, prefetchBatches } from '../../../core/train/sampler';
import { buildTinyRun, disposeTinyRun, tinyRecipe, type TinyRun } from './fixtures';

describe('memory guard: weights and training steps that do not fit are refused with a message', function () {
  this.timeout(120_000);
  let run: TinyRun;
  before(async () => {
    run = await buildTinyRun(tinyRecipe());
    assert.equal(tf.getBackend(), 'wasm');
  });
  after(() => disposeTinyRun(run));
  afterEach(() => setWasmSafeLimit(DEFAULT_WASM_SAFE_BYTES));

  const firstBatch = async () => {
    const split = await run.built.dataset.open('train');
    return (await prefetchBatches(batchesOf(epochOrder(200, run.rng, 0), 8), captionBatchLoader(split)).next()).value!;
  };

  it('refuses a step whose weights, gradients and optimizer state alone cross the limit, without probing', async () => {
    const batch = await firstBatch();
    const ctx = { ...run.built, params: runParameters(run.built), gradClip: 2 };
    const weights = ctx.params.filter((p) => p.trainable).reduce((n, p) => n + 4 * p.variable.size, 0);
    const tensors = tf.memory().numTensors;
    const limit = tf.memory().numBytes + 2 * weights; // room for two of the four copies a step needs
    await assert.rejects(assertStepFits(ctx, batch, 8, run.rng, limit), (error: unknown) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, /the training step needs at least .* before any activation .* gradients, clipped gradients and the optimizer's two moments/);
      assert.match(error.message, /lower its widths/);
      return true;
    });
    assert.equal(tf.memory().numTensors, tensors, 'refused before a probe allocated anything');
  });

  it('refuses a weight that would take the weights past half the tensor memory, while building, as bad input', () => {
    setWasmSafeLimit(2 * (tf.memory().numBytes + 2 * 4 * 64 * 64)); // half of it: what is live, and room for a 64×64 weight and its copy
    assert.doesNotThrow(() => new Linear(8, 8, createRng(1)).dispose());
    assert.throws(
      () => new Linear(512, 512, createRng(1)),
      (error: unknown) =>
        error instanceof UsageError && /the model's weights do not fit: a weight of shape \[512, 512\] .*lower the model's widths/.test(error.message),
    );
  });

  it('refuses a weight no machine could hold on any backend, before allocating it', async () => {
    const previous = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      assert.throws(() => new Linear(1e8, 1e8, createRng(1)), /the model's weights do not fit: a weight of shape \[100000000, 100000000\]/);
    } finally {
      await tf.setBackend(previous);
    }
  });
});

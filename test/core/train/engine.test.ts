import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../../../core/backend/tf';
import type { HostImages } from '../../../core/contracts/data';
import type { Dataset, DatasetSplit } from '../../../core/contracts/dataset';
import { RunFailure, UsageError } from '../../../core/errors';
import { loadCheckpoint, readCheckpointState, saveCheckpoint } from '../../../core/train/checkpoint';
import { encodeSplit } from '../../../core/train/encode';
import { trainAndEvaluate, type TrainResult } from '../../../core/train/engine';
import { assertStepFits } from '../../../core/train/memory';
import { runParameters } from '../../../core/train/parameters';
import { batchesOf, captionBatchLoader, epochOrder, prefetchBatches } from '../../../core/train/sampler';
import { readSafetensors } from '../../../core/io/safetensors';
import { buildTinyRun, disposeTinyRun, MemoryLogger, tinyRecipe, type TinyRun } from './fixtures';

/** A data set whose training images carry NaN features once `poisoned()` says so (a real NaN through the model). */
function poisonedDataset(real: Dataset, poisoned: () => boolean): Dataset {
  return {
    info: real.info,
    splits: real.splits,
    open: async (name: string): Promise<DatasetSplit> => {
      const split = await real.open(name);
      return {
        name: split.name,
        numImages: split.numImages,
        captions: () => split.captions(),
        close: () => split.close(),
        loadImages: async (indices): Promise<HostImages> => {
          const images = await split.loadImages(indices);
          if (!poisoned() || name !== 'train' || !images.regions) return images;
          return { ...images, regions: { data: new Float32Array(images.regions.data.length).fill(NaN), shape: images.regions.shape } };
        },
      };
    },
  };
}

const encodeDev = async (run: TinyRun) => encodeSplit(await run.built.dataset.open('dev'), 10, run.built, run.rng.fork('test-encode'));

describe('training engine @slow', function () {
  this.timeout(600_000);
  let run: TinyRun;
  let result: TrainResult;
  const tensorsAfterStep: number[] = [];
  const logger = new MemoryLogger();

  before(async () => {
    run = await buildTinyRun(tinyRecipe({ epochs: 3, warmupEpochs: 99, lr: 0.01 }), logger);
    result = await trainAndEvaluate({ ...run, hooks: { afterStep: () => tensorsAfterStep.push(tf.memory().numTensors) } });
  });
  after(() => disposeTinyRun(run));

  it('keeps tf.memory().numTensors identical from one step to the next, across validations and epochs', () => {
    assert.equal(tensorsAfterStep.length, 3 * 25);
    assert.deepEqual(new Set(tensorsAfterStep), new Set([tensorsAfterStep[0]]), `counts: ${[...new Set(tensorsAfterStep)].join(', ')}`);
  });

  it('lowers the training loss over epochs on the tiny set', () => {
    const [first, , last] = result.epochLosses;
    assert.ok(last < 0.9 * first, `epoch losses ${result.epochLosses.join(', ')}`);
  });

  it('validates after every epoch and evaluates the best weights on the test split', () => {
    assert.equal(result.validation.length, 3);
    assert.equal(result.bestScore, Math.max(...result.validation.map((r) => r.metrics.rsum)));
    assert.ok(result.test && Number.isFinite(result.test.metrics.rsum));
    const report = JSON.parse(readFileSync(join(run.context.runDir, 'evaluation.json'), 'utf8')) as {
      split: string;
      weights: string;
      test: { metrics: Record<string, number> };
    };
    assert.equal(report.split, 'test');
    assert.equal(report.weights, 'best');
    assert.deepEqual(report.test.metrics, result.test.metrics);
  });

  it('writes progress lines with epoch, step/total, loss, samples/s and ETA', () => {
    const lines = logger.lines.filter((l) => l.startsWith('epoch ') && l.includes(' step '));
    assert.equal(lines.length, 15);
    assert.match(lines[0], /^epoch 1\/3 step 5\/75 loss \d+\.\d{4} lr 1\.00e-2 \d+\.\d samples\/s ETA \d:\d\d:\d\d$/);
  });

  it('writes best and last checkpoints with the training state in their metadata', () => {
    const last = readCheckpointState(result.checkpoints.last);
    assert.equal(last.epoch, 3);
    assert.equal(last.step, 75);
    assert.equal(last.optimizerStep, 75);
    assert.equal(last.recipeHash, run.context.recipeHash);
    assert.deepEqual(last.rng, run.rng.state());
    assert.equal((last.tokenizer as { kind: string }).kind, 'word-vocabulary');
    const best = readCheckpointState(result.checkpoints.best);
    assert.equal(best.bestScore, result.bestScore);
    const names = [...readSafetensors(result.checkpoints.best).tensors.keys()];
    assert.ok(names.some((n) => n.startsWith('image.')) && names.some((n) => n.startsWith('text.')));
    assert.ok(names.some((n) => n.startsWith('optimizer.') && n.endsWith('.exp_avg')));
    assert.deepEqual(
      names.filter((n) => !n.startsWith('optimizer.')),
      runParameters(run.built).map((p) => p.name),
    );
  });

  it('restores identical weights, embeddings and optimizer slots from a checkpoint into a freshly built model', async () => {
    // Loading also into the trained model resets evaluation-mode caches (GPO caches its weights per length, and
    // which lengths are computed together changes the last bit), so both models encode from the same history.
    loadCheckpoint(result.checkpoints.best, runParameters(run.built));
    const trained = await encodeDev(run);
    const fresh = await buildTinyRun(tinyRecipe({ epochs: 3, warmupEpochs: 0, seed: 99 }));
    try {
      fresh.built.textEncoder.loadTokenizerState!(readCheckpointState(result.checkpoints.best).tokenizer);
      const before = await encodeDev(fresh);
      assert.notDeepEqual(before.images, trained.images, 'a differently seeded model must start elsewhere');
      const tensors = tf.memory().numTensors;
      loadCheckpoint(result.checkpoints.best, runParameters(fresh.built), fresh.built.optimizer);
      const original = runParameters(run.built);
      runParameters(fresh.built).forEach((p, i) => assert.deepEqual(p.variable.dataSync(), original[i].variable.dataSync(), p.name));
      const restored = await encodeDev(fresh);
      assert.deepEqual(restored.images, trained.images);
      assert.deepEqual(restored.captions, trained.captions);
      const file = readSafetensors(result.checkpoints.best).tensors;
      const state = fresh.built.optimizer.getState();
      assert.ok(state.slots.size > 0);
      for (const [slot, t] of state.slots) assert.deepEqual(t.dataSync(), file.get(`optimizer.${slot}`)!.data, slot);
      tf.dispose([...state.slots.values()]);
      assert.ok(tf.memory().numTensors > tensors, 'the optimizer slots were created');
    } finally {
      disposeTinyRun(fresh);
    }
  });

  it('stops on a NaN loss naming epoch and step, keeping the last good checkpoint', async () => {
    let poison = false;
    const bad = await buildTinyRun(tinyRecipe({ epochs: 3, evaluator: false }));
    try {
      const built = { ...bad.built, dataset: poisonedDataset(bad.built.dataset, () => poison) };
      // From step 30 on (epoch 2), batches are requested poisoned; batch 31 was already prefetched clean.
      const hooks = { afterStep: (step: number) => (poison = step >= 29) };
      await assert.rejects(trainAndEvaluate({ ...bad, built, hooks }), (error: unknown) => {
        assert.ok(error instanceof RunFailure);
        assert.match(error.message, /diverged at epoch 2, step 32: loss is NaN/);
        return true;
      });
      const last = join(bad.context.runDir, 'checkpoints', 'last.safetensors');
      assert.equal(readCheckpointState(last).step, 25, 'the checkpoint of epoch 1 is kept');
      for (const [name, t] of readSafetensors(last).tensors) assert.ok(t.data.every(Number.isFinite), name);
      // The optimizer never ran on the NaN step (buffers such as BatchNorm statistics do see the NaN forward pass).
      for (const p of runParameters(bad.built).filter((q) => q.trainable)) {
        assert.ok((p.variable.dataSync() as Float32Array).every(Number.isFinite), `${p.name} was not updated from the NaN step`);
      }
    } finally {
      disposeTinyRun(bad);
    }
  });
});

describe('training engine pieces', function () {
  this.timeout(120_000);
  let run: TinyRun;
  before(async () => {
    run = await buildTinyRun(tinyRecipe());
    run.built.textEncoder.prepare?.((await run.built.dataset.open('train')).captions());
  });
  after(() => disposeTinyRun(run));

  it('keeps tf.memory().numTensors unchanged across evaluation encoding', async () => {
    await encodeDev(run);
    const before = tf.memory().numTensors;
    const embeddings = await encodeDev(run);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(embeddings.images.length, 10 * 16);
    assert.equal(embeddings.captions.length, 50 * 16);
  });

  it('leaves the previous checkpoint intact when a write is interrupted before the rename', () => {
    const dir = join(run.context.runDir, 'atomic');
    require('node:fs').mkdirSync(dir, { recursive: true });
    const path = join(dir, 'last.safetensors');
    const params = runParameters(run.built);
    const state = { step: 1, epoch: 1, optimizerStep: 0, rng: run.rng.state(), bestScore: null, recipeHash: run.context.recipeHash };
    saveCheckpoint(path, params, run.built.optimizer, state);
    const previous = readFileSync(path);
    const original = params[0].variable.clone();
    try {
      params[0].variable.assign(tf.zerosLike(params[0].variable));
      assert.throws(
        () =>
          saveCheckpoint(
            path,
            params,
            run.built.optimizer,
            { ...state, step: 2 },
            {
              beforeRename: () => {
                throw new Error('process killed');
              },
            },
          ),
        /process killed/,
      );
      assert.deepEqual(readFileSync(path), previous);
      assert.deepEqual(readdirSync(dir), ['last.safetensors']);
      assert.equal(readCheckpointState(path).step, 1);
    } finally {
      params[0].variable.assign(original);
      original.dispose();
    }
  });

  it('refuses, on wasm, a batch size whose step would cross the safe heap limit, naming train.batchSize', async () => {
    assert.equal(tf.getBackend(), 'wasm');
    const split = await run.built.dataset.open('train');
    const [batch] = await prefetchBatches(batchesOf(epochOrder(200, run.rng, 0), 8), captionBatchLoader(split))
      .next()
      .then((r) => [r.value!]);
    const ctx = { ...run.built, params: runParameters(run.built), gradClip: 2 };
    await assertStepFits(ctx, batch, 8, run.rng); // the first training-mode forward may create cached constants
    const tensors = tf.memory().numTensors;
    const estimate = await assertStepFits(ctx, batch, 8, run.rng);
    assert.ok(estimate > 0);
    assert.equal(tf.memory().numTensors, tensors, 'the probe leaks nothing');
    const limit = tf.memory().numBytes + estimate / 2;
    await assert.rejects(assertStepFits(ctx, batch, 8, run.rng, limit), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /train\.batchSize=8 .*wasm safe limit.*Lower train\.batchSize/);
      return true;
    });
    await assertStepFits(ctx, batch, 2, run.rng, tf.memory().numBytes + estimate);
  });

  it('refuses a checkpoint that does not fit the model', async () => {
    const other = await buildTinyRun(
      tinyRecipe({ seed: 5 })
        .replace('embedDim: 16, dropout', 'embedDim: 8, dropout')
        .replace('{embedDim: 16}}', '{embedDim: 8}}')
        .replace('{embedDim: 16, wordDim', '{embedDim: 8, wordDim'),
    );
    const path = join(run.context.runDir, 'small.safetensors');
    try {
      saveCheckpoint(path, runParameters(other.built), other.built.optimizer, {
        step: 0,
        epoch: 0,
        optimizerStep: 0,
        rng: other.rng.state(),
        bestScore: null,
        recipeHash: 'x',
      });
    } finally {
      disposeTinyRun(other);
    }
    assert.throws(() => loadCheckpoint(path, runParameters(run.built)), /does not fit this model: .*\[8/);
    assert.ok(existsSync(path));
  });
});

describe('resuming a run @slow', function () {
  this.timeout(600_000);

  it('continues from the last checkpoint to exactly the result of an uninterrupted run', async () => {
    const recipe = tinyRecipe({ epochs: 2 });
    const whole = await buildTinyRun(recipe);
    const uninterrupted = await trainAndEvaluate(whole).finally(() => disposeTinyRun(whole));

    const crashed = await buildTinyRun(recipe);
    const crash = {
      afterStep: (step: number) => {
        if (step === 30) throw new Error('power cut');
      },
    };
    await assert.rejects(
      trainAndEvaluate({ ...crashed, hooks: crash }).finally(() => disposeTinyRun(crashed)),
      /power cut/,
    );
    const checkpoint = join(crashed.context.runDir, 'checkpoints', 'last.safetensors');
    assert.equal(readCheckpointState(checkpoint).step, 25);

    const again = await buildTinyRun(recipe);
    const logger = new MemoryLogger();
    const resumed = await trainAndEvaluate({
      ...again,
      logger,
      context: { ...again.context, runDir: crashed.context.runDir },
      resume: { checkpoint, state: readCheckpointState(checkpoint) },
    }).finally(() => disposeTinyRun(again));
    assert.ok(logger.lines.some((l) => l.startsWith(`resuming from ${checkpoint}: 1 epochs and 25 steps done`)));
    assert.equal(resumed.steps, 50);
    assert.deepEqual(resumed.test?.metrics, uninterrupted.test?.metrics);
    assert.equal(resumed.bestScore, uninterrupted.bestScore);
    const expected = readSafetensors(uninterrupted.checkpoints.last);
    const got = readSafetensors(resumed.checkpoints.last);
    assert.deepEqual([...got.tensors.keys()], [...expected.tensors.keys()]);
    for (const [name, t] of expected.tensors) assert.deepEqual(got.tensors.get(name)!.data, t.data, name);
    const { rng: rngA, ...stateA } = readCheckpointState(uninterrupted.checkpoints.last);
    const { rng: rngB, ...stateB } = readCheckpointState(resumed.checkpoints.last);
    assert.deepEqual(stateB, stateA);
    assert.deepEqual(rngB, rngA);
  });
});

import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../core/errors';
import { runRecipe } from '../../../core/run/run';
import { runPython } from '../../support/python-env';
import { engineTestManifests, MemoryLogger, tinyRecipe } from './fixtures';
import { wasmThreadsWanted } from '../../../core/backend/select';

interface TrackedRunRecord {
  status: string;
  name: string;
  tags: Record<string, string>;
  params: Record<string, string>;
  metrics: Record<string, number>;
  history: Record<string, number[]>;
  artifacts: string[];
}

/** Reads the one run of an experiment back with the real MLflow client. */
function readRun(store: string, experiment: string): TrackedRunRecord {
  const out = runPython(
    [
      'import json, sys, mlflow',
      'c = mlflow.tracking.MlflowClient("file:" + sys.argv[1])',
      'e = c.get_experiment_by_name(sys.argv[2])',
      '[r] = c.search_runs([e.experiment_id])',
      'rid = r.info.run_id',
      'arts = [a.path for a in c.list_artifacts(rid)] + [a.path for a in c.list_artifacts(rid, "checkpoints")]',
      'keys = ("train/loss", "train/loss_all_negatives", "train/loss_hardest_negative", "train/lr", "train/grad_norm", "train/grad_norm_max", "train/image_cosine", "train/batch_r1", "val/rsum", "rsum", "test/rsum")',
      'hist = {k: [m.step for m in c.get_metric_history(rid, k)] for k in keys}',
      'print(json.dumps({"status": r.info.status, "name": r.info.run_name, "tags": r.data.tags, "params": r.data.params,',
      '                  "metrics": r.data.metrics, "history": hist, "artifacts": arts}))',
    ].join('\n'),
    [store, experiment],
    { MLFLOW_ALLOW_FILE_STORE: 'true' },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as TrackedRunRecord;
}

describe('shnet run: training, evaluation and tracking end to end @slow', function () {
  this.timeout(600_000);

  it('trains, evaluates and records the run in MLflow (params, tags, metrics, artifacts, FINISHED)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-run-'));
    const store = join(dir, 'mlruns');
    const recipe = join(dir, 'tiny.yaml');
    writeFileSync(
      recipe,
      tinyRecipe({ epochs: 2 })
        .replace('tracker: null', `tracker: {type: mlflow, args: {localStore: ${store}, offline: true}}\nexperiment: engine-test\noutput: ${join(dir, 'runs')}`)
        .replace('name: tiny', 'name: tiny\ndescription: A two-epoch run on tiny shapes.'),
    );
    const outcome = await runRecipe(engineTestManifests(), { recipe, overrides: [] }, new MemoryLogger());
    const run = readRun(store, 'engine-test');
    assert.equal(run.status, 'FINISHED');
    assert.equal(run.name, 'tiny');
    assert.equal(run.tags['shnet.recipe_hash'], outcome.hash);
    assert.equal(run.tags['shnet.backend'], 'wasm');
    assert.equal(run.tags['shnet.backend_threads'], String(wasmThreadsWanted())); // the threads the run computed on
    assert.match(
      run.tags['mlflow.note.content'],
      /^A two-epoch run on tiny shapes\.\n\ndataset shapes, image encoder 3shnet, text encoder bigru, loss triplet/,
    );
    assert.equal(run.params['model.image.args.embedDim'], '16');
    assert.equal(run.params['train.batchSize'], '8');
    assert.equal(run.params.seed, '11');
    // The warm-up epoch's loss (all negatives) and the next one's (hardest negative) are logged apart: each has its own scale.
    assert.deepEqual(run.history['train/loss_all_negatives'], [5, 10, 15, 20, 25]);
    assert.deepEqual(run.history['train/loss_hardest_negative'], [30, 35, 40, 45, 50]);
    assert.deepEqual(run.history['train/loss'], []);
    assert.deepEqual(run.history['train/lr'], [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]);
    // The step diagnostics at the same points (docs/mlflow.md): gradient norm before clipping, embedding spread.
    for (const key of ['train/grad_norm', 'train/grad_norm_max', 'train/image_cosine', 'train/batch_r1'])
      assert.deepEqual(run.history[key], run.history['train/lr'], key);
    assert.ok(run.metrics['train/grad_norm_max'] >= run.metrics['train/grad_norm'] && run.metrics['train/grad_norm'] > 0);
    assert.ok(Math.abs(run.metrics['train/image_cosine']) <= 1 && Math.abs(run.metrics['train/caption_cosine']) <= 1);
    assert.ok(run.metrics['train/batch_r1'] >= 0 && run.metrics['train/batch_r1'] <= 1);
    assert.ok(run.metrics['train/image_rank'] >= 1 && run.metrics['train/image_rank'] <= 8, 'at most the batch of 8');
    // Validation metrics carry the val/ prefix, final ones test/.
    assert.deepEqual(run.history['val/rsum'], [1, 2]);
    assert.deepEqual(run.history.rsum, []);
    assert.deepEqual(run.history['test/rsum'], [2]);
    for (const key of ['i2t/R1', 'i2t/R5', 'i2t/R10', 't2i/R1', 't2i/R5', 't2i/R10']) assert.ok(Number.isFinite(run.metrics[`test/${key}`]), key);
    assert.deepEqual(run.artifacts.sort(), ['checkpoints', 'checkpoints/best.safetensors', 'evaluation.json', 'recipe.yaml']);

    // Resuming under a changed recipe is refused before anything is built.
    await assert.rejects(
      runRecipe(engineTestManifests(), { recipe, overrides: ['optimizer.args.lr=0.5'], resume: outcome.runDir }, new MemoryLogger()),
      (error: unknown) => error instanceof UsageError && /cannot resume: .* was trained with recipe sha256 .*--force/.test(error.message),
    );
  });
});

/**
 * The segmenter stage trains in the shared loop: SIGINT ends its run KILLED after the current step, and `--resume`
 * continues it from the last checkpoint to the weights an uninterrupted run reaches.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '../../../core/io/safetensors';
import { shnet } from '../../support/cli';
import { startShnet } from '../../support/cli-process';
import { REPO_ROOT, runPython } from '../../support/python-env';
import { setFlags } from '../../support/tiny-shapes';

const SEGMENTER = join(REPO_ROOT, 'recipes', 'shapes', 'segmenter.yaml');

function overrides(dir: string, name: string): string[] {
  return [
    'backend=wasm',
    'seed=4',
    'data.args.trainSize=192',
    'data.args.devSize=16',
    'data.args.testSize=16',
    'data.args.imageSize=32',
    'segmenter.args.channels=[8, 8, 8]',
    'train.epochs=3',
    'train.batchSize=8',
    'train.logEvery=4',
    'train.validationImages=16',
    `output=${join(dir, name)}`,
    'tracker.type=mlflow',
    `tracker.args.localStore=${join(dir, 'mlruns')}`,
  ];
}

/** Status and metric steps of the stage's runs, read back with the real MLflow client. */
function trackedRuns(store: string): { status: string; name: string; trainSteps: number[]; valSteps: number[] }[] {
  const out = runPython(
    [
      'import json, sys, mlflow',
      'c = mlflow.tracking.MlflowClient("file:" + sys.argv[1])',
      'e = c.get_experiment_by_name("shapes")',
      'runs = c.search_runs([e.experiment_id])',
      'print(json.dumps([{"status": r.info.status, "name": r.info.run_name,',
      '  "trainSteps": [m.step for m in c.get_metric_history(r.info.run_id, "train/loss")],',
      '  "valSteps": [m.step for m in c.get_metric_history(r.info.run_id, "val/miou")]} for r in runs]))',
    ].join('\n'),
    [store],
    { MLFLOW_ALLOW_FILE_STORE: 'true' },
  );
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('segmenter stage in the shared training loop @slow', function () {
  this.timeout(600_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'shnet-seg-loop-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is interrupted by SIGINT (KILLED), resumes from its last checkpoint, and ends with the uninterrupted weights', async () => {
    const whole = shnet(['run', SEGMENTER, ...setFlags(overrides(dir, 'whole'))], { cwd: dir, timeoutMs: 300_000 });
    assert.equal(whole.status, 0, whole.stderr);

    const interrupted = startShnet(['run', SEGMENTER, ...setFlags(overrides(dir, 'cut'))], { cwd: dir });
    // Interrupt as soon as the first epoch's checkpoints are written (the line follows the save).
    let sent = false;
    interrupted.child.stderr!.on('data', () => {
      if (!sent && /epoch 1\/3: mean loss/.test(interrupted.output())) sent = interrupted.child.kill('SIGINT');
    });
    assert.notEqual(await interrupted.exited, 0);
    assert.match(interrupted.output(), /interrupted by SIGINT at epoch 2/);
    const runDir = join(dir, 'cut', readdirSync(join(dir, 'cut'))[0]);
    assert.deepEqual(
      trackedRuns(join(dir, 'mlruns'))
        .map((r) => r.status)
        .sort(),
      ['FINISHED', 'KILLED'],
    );

    const resumed = shnet(['run', join(runDir, 'recipe.yaml'), '--resume', runDir], { cwd: dir, timeoutMs: 300_000 });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming from .*: 1 epochs and 24 steps done/);

    const expected = readSafetensors(join(dir, 'whole', readdirSync(join(dir, 'whole'))[0], 'checkpoints', 'last.safetensors'));
    const got = readSafetensors(join(runDir, 'checkpoints', 'last.safetensors'));
    for (const [name, t] of expected.tensors) assert.deepEqual(got.tensors.get(name)!.data, t.data, name);
    const report = JSON.parse(readFileSync(join(runDir, 'evaluation.json'), 'utf8')) as { stage: string; epochLosses: number[]; validation: unknown[] };
    assert.equal(report.stage, 'segmenter');
    assert.equal(report.epochLosses.length, 3, 'the epochs before the interruption are kept');
    assert.equal(report.validation.length, 3);

    // One tracked run for the interrupted-and-resumed stage, FINISHED, every step and epoch logged exactly once.
    const runs = trackedRuns(join(dir, 'mlruns'));
    assert.equal(runs.length, 2);
    for (const run of runs) {
      assert.equal(run.status, 'FINISHED');
      assert.deepEqual(run.trainSteps, [4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72]);
      assert.deepEqual(run.valSteps, [1, 2, 3]);
    }
  });
});

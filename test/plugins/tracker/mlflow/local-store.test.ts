import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrackedRun } from '../../../../core/contracts/tracker';
import { MlflowTracker, type MlflowTrackerOptions } from '../../../../plugins/tracker/mlflow';
import { compareOutput } from './cli';
import { readRunsWithPython, tempDir } from './python-reader';

/** Logs a small, fully known run: what Python MLflow must read back. */
async function logKnownRun(run: TrackedRun, dir: string, embedDim: number) {
  await run.logParams({ 'model.image.args.embedDim': embedDim, 'loss.margin': 0.2, 'data.name': 'f30k', 'R@1 weird': 'x' });
  for (let step = 0; step < 5; step++) {
    await run.logMetrics([
      { key: 'train/loss', value: 1 / (step + 1), step, timestamp: 1_000 + step },
      { key: 'i2t/R1', value: 50 + step, step, timestamp: 2_000 + step },
    ]);
  }
  await run.logMetrics([{ key: 'rsum', value: 400 + embedDim / 1000, step: 4, timestamp: 3_000 }]);
  await run.setTags({ 'mlflow.note.content': 'a *note*', 'shnet.backend': 'wasm' });
  mkdirSync(join(dir, 'ckpt'), { recursive: true });
  writeFileSync(join(dir, 'recipe.yaml'), `embedDim: ${embedDim}\n`);
  writeFileSync(join(dir, 'ckpt', 'epoch-001.json'), '{"epoch":1}');
  await run.logArtifact(join(dir, 'recipe.yaml'));
  await run.logArtifact(join(dir, 'ckpt'), 'checkpoints');
}

describe('mlflow tracker: local FileStore', () => {
  let dir: string;
  let store: string;
  const runIds: string[] = [];
  let parentId: string;

  before(async () => {
    dir = tempDir('mlflow-local');
    store = join(dir, 'mlruns');
    const tracker = new MlflowTracker({ localStore: store, offline: true } as MlflowTrackerOptions);
    const parent = await tracker.startRun({ experiment: 'local-exp', runName: 'sweep' });
    parentId = parent.runId;
    for (const embedDim of [1024, 2048]) {
      const run = await tracker.startRun({ experiment: 'local-exp', runName: `dim${embedDim}`, parentRunId: parent.runId });
      await logKnownRun(run, dir, embedDim);
      await run.finish('FINISHED');
      runIds.push(run.runId);
    }
    await parent.finish('KILLED');
    await tracker.close();
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes MLflow FileStore files: Default experiment, int status, metric lines, / as sub-folders', () => {
    assert.match(readFileSync(join(store, '0', 'meta.yaml'), 'utf8'), /name: Default/);
    const runDir = join(store, readdirExperiment(store, 'local-exp'), runIds[0]);
    assert.match(readFileSync(join(runDir, 'meta.yaml'), 'utf8'), /status: 3\n/);
    assert.equal(readFileSync(join(runDir, 'metrics', 'i2t', 'R1'), 'utf8').split('\n')[1], '2001 51 1');
    assert.equal(readFileSync(join(runDir, 'params', 'model.image.args.embedDim'), 'utf8'), '1024');
  });

  it('@slow is read back identically by Python MLflow (MLFLOW_ALLOW_FILE_STORE=true)', () => {
    const runs = readRunsWithPython(`file:${store}`, [...runIds, parentId]);
    const run = runs[runIds[0]];
    assert.equal(run.info.experiment, 'local-exp');
    assert.equal(run.info.status, 'FINISHED');
    assert.equal(run.info.run_name, 'dim1024');
    assert.ok(run.info.end_time! >= run.info.start_time);
    assert.equal(runs[parentId].info.status, 'KILLED');
    const weird = Object.keys(run.params).find((k) => k.startsWith('R_1 weird-'));
    assert.ok(weird, JSON.stringify(run.params));
    assert.deepEqual(run.params, { 'model.image.args.embedDim': '1024', 'loss.margin': '0.2', 'data.name': 'f30k', [weird]: 'x' });
    assert.deepEqual(
      run.metrics['i2t/R1'],
      [0, 1, 2, 3, 4].map((s) => [s, 2000 + s, 50 + s]),
    );
    assert.deepEqual(
      run.metrics['train/loss'],
      [0, 1, 2, 3, 4].map((s) => [s, 1000 + s, 1 / (s + 1)]),
    );
    assert.deepEqual(run.metrics.rsum, [[4, 3000, 401.024]]);
    assert.equal(run.tags['mlflow.note.content'], 'a *note*');
    assert.equal(run.tags['mlflow.parentRunId'], parentId);
    assert.equal(run.tags['mlflow.runName'], 'dim1024');
    assert.equal(run.tags['mlflow.source.type'], 'LOCAL');
    assert.ok(run.tags['mlflow.user']);
    assert.deepEqual(run.artifacts, { 'recipe.yaml': 'embedDim: 1024\n', 'checkpoints/epoch-001.json': '{"epoch":1}' });
  });

  it("tells how to look at a run: its experiment's name and the command that opens the store in mlflow ui", async () => {
    const tracker = new MlflowTracker({ localStore: store, offline: true } as MlflowTrackerOptions);
    const run = await tracker.startRun({ experiment: 'local-exp', runName: 'viewed' });
    await run.finish('FINISHED');
    assert.deepEqual(run.view?.(), { experiment: 'local-exp', command: `MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri ${store}` });
    const here = process.cwd();
    try {
      process.chdir(dir);
      assert.equal(run.view?.().command, 'MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri ./mlruns', 'relative to the working folder');
    } finally {
      process.chdir(here);
    }
  });

  it('refuses a different value for a param already logged (params are write-once)', async () => {
    const tracker = new MlflowTracker({ localStore: store, offline: true } as MlflowTrackerOptions);
    const run = await tracker.startRun({ experiment: 'local-exp', runName: 'again', resumeRunId: runIds[0] });
    await run.logParams({ 'loss.margin': 0.2 });
    await assert.rejects(run.logParams({ 'loss.margin': 0.3 }), /write-once/);
    await run.finish('FINISHED');
  });

  it('compare prints the differing param and the retrieval metrics, best rsum first (table and json)', async () => {
    const table = await compareOutput([...runIds, '--store', store]);
    const [header, rule, first, second] = table.split('\n');
    assert.deepEqual(header.split(/\s{2,}/), ['run', 'name', 'model.image.args.embedDim', 'i2t/R1', 'rsum']);
    assert.match(rule, /^-+ +-+/);
    assert.deepEqual(first.split(/\s{2,}/), [runIds[1], 'dim2048', '2048', '54', '402.048']);
    assert.deepEqual(second.split(/\s{2,}/), [runIds[0], 'dim1024', '1024', '54', '401.024']);

    const json = JSON.parse(await compareOutput(['--experiment', 'local-exp', '--filter', 'metrics.rsum > 401', '--format', 'json', '--store', store]));
    assert.deepEqual(json, {
      params: ['model.image.args.embedDim'],
      metrics: ['i2t/R1', 'rsum'],
      runs: [
        { runId: runIds[1], runName: 'dim2048', params: { 'model.image.args.embedDim': '2048' }, metrics: { 'i2t/R1': 54, rsum: 402.048 } },
        { runId: runIds[0], runName: 'dim1024', params: { 'model.image.args.embedDim': '1024' }, metrics: { 'i2t/R1': 54, rsum: 401.024 } },
      ],
    });
    const one = JSON.parse(
      await compareOutput(['--experiment', 'local-exp', '--filter', "params.`model.image.args.embedDim` = '2048'", '--format', 'json', '--store', store]),
    );
    assert.deepEqual(
      one.runs.map((r: { runId: string }) => r.runId),
      [runIds[1]],
    );
    const csv = await compareOutput([...runIds, '--store', store, '--format', 'csv', '--metrics', 'train/loss']);
    assert.equal(csv.split('\n')[0], 'run,name,model.image.args.embedDim,train/loss');
  });

  it('compare --format md ranks the runs as the table does', async () => {
    const md = await compareOutput(['--experiment', 'local-exp', '--filter', 'metrics.rsum > 401', '--format', 'md', '--store', store]);
    const rows = md.trim().split('\n').slice(2);
    assert.deepEqual(
      rows.map((row) => row.split(' | ')[0].slice(2)),
      [runIds[1], runIds[0]],
    );
    const byR1 = await compareOutput([...runIds, '--store', store, '--format', 'md', '--metric', 'i2t/R1', '--metrics', 'rsum']);
    assert.match(byR1.split('\n')[0], /^\| run \| name \| model\.image\.args\.embedDim \| i2t\/R1 \| rsum \|$/);
  });
});

function readdirExperiment(store: string, name: string): string {
  const { FileStore } = require('../../../../plugins/tracker/mlflow') as typeof import('../../../../plugins/tracker/mlflow');
  return new FileStore(store).listExperiments().find((e) => e.name === name)!.experimentId;
}

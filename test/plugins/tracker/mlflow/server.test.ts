import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MlflowTracker, type MlflowTrackerOptions, syncRuns } from '../../../../plugins/tracker/mlflow';
import type { LocalFirstRun } from '../../../../plugins/tracker/mlflow/local-first-run';
import { type MlflowTestServer, startMlflowServer } from '../../../support/mlflow-server';
import { compareOutput, shnetOutput } from './cli';
import { readRunsWithPython, tempDir } from './python-reader';

/** Short backoff so outages in these tests cost milliseconds, not the production 30 s. */
const FAST = { retry: { initialDelayMs: 20, maxDelayMs: 100, maxTotalMs: 400 }, deliveryIntervalMs: 50, requestTimeoutMs: 5_000 };

function tracker(store: string, trackingUri: string, extra: Partial<MlflowTrackerOptions> = {}) {
  return new MlflowTracker({ localStore: store, trackingUri, flushTimeoutMs: 30_000, ...FAST, ...extra } as MlflowTrackerOptions);
}

/** Every file under `dir`, read as text. */
function allText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), 'latin1'))
    .join('\n');
}

describe('mlflow tracker against a real MLflow server @slow', function () {
  this.timeout(180_000);
  let server: MlflowTestServer;
  let dir: string;

  before(async () => {
    server = await startMlflowServer();
    dir = tempDir('mlflow-server');
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers params, every metric point, tags, artifacts and nested runs as Python MLflow reads them @slow', async () => {
    const t = tracker(join(dir, 'roundtrip'), server.uri);
    const parent = (await t.startRun({ experiment: 'roundtrip', runName: 'sweep' })) as LocalFirstRun;
    const run = (await t.startRun({
      experiment: 'roundtrip',
      runName: 'trial-0',
      parentRunId: parent.runId,
      tags: { 'mlflow.note.content': 'first trial', 'shnet.recipeHash': 'abc123' },
    })) as LocalFirstRun;
    await run.logParams({ 'model.image.args.embedDim': 1024, 'optimizer.lr': 0.0002 });
    const points = [];
    for (let step = 0; step < 30; step++) {
      points.push({ key: 'train/loss', value: 2 - step / 30, step, timestamp: 10_000 + step });
      points.push({ key: 'i2t/R1', value: step, step, timestamp: 20_000 + step });
    }
    await run.logMetrics(points);
    writeFileSync(join(dir, 'recipe.resolved.yaml'), 'model: {embedDim: 1024}\n');
    await run.logArtifact(join(dir, 'recipe.resolved.yaml'));
    await run.finish('FINISHED');
    await parent.finish('FINISHED');
    await t.close();

    const remote = readRunsWithPython(server.uri, [run.remoteRunId!, parent.remoteRunId!]);
    const got = remote[run.remoteRunId!];
    assert.equal(got.info.status, 'FINISHED');
    assert.equal(got.info.run_name, 'trial-0');
    assert.equal(got.info.experiment, 'roundtrip');
    assert.deepEqual(got.params, { 'model.image.args.embedDim': '1024', 'optimizer.lr': '0.0002' });
    assert.deepEqual(
      got.metrics['train/loss'],
      points.filter((p) => p.key === 'train/loss').map((p) => [p.step, p.timestamp, p.value]),
    );
    assert.deepEqual(
      got.metrics['i2t/R1'],
      points.filter((p) => p.key === 'i2t/R1').map((p) => [p.step, p.timestamp, p.value]),
    );
    assert.equal(got.tags['mlflow.parentRunId'], parent.remoteRunId);
    assert.equal(got.tags['mlflow.note.content'], 'first trial');
    assert.equal(got.tags['shnet.recipeHash'], 'abc123');
    assert.equal(got.tags['mlflow.source.type'], 'LOCAL');
    assert.equal(got.tags['shnet.localRunId'], run.runId);
    assert.deepEqual(got.artifacts, { 'recipe.resolved.yaml': 'model: {embedDim: 1024}\n' });
    assert.equal(remote[parent.remoteRunId!].info.status, 'FINISHED');

    // The run's page on the server: the UI's route to the server's experiment and run ids.
    const served = (await (await fetch(`${server.uri}/api/2.0/mlflow/runs/get?run_id=${run.remoteRunId}`)).json()) as {
      run: { info: { experiment_id: string } };
    };
    const view = run.view();
    assert.equal(view.experiment, 'roundtrip');
    assert.equal(view.url, `${server.uri}/#/experiments/${served.run.info.experiment_id}/runs/${run.remoteRunId}`);
    assert.equal((await fetch(view.url!.split('#')[0])).status, 200);
  });

  it('splits at the limits: 150 params, 2500 points in one flush, a 10,000-character param @slow', async () => {
    const t = tracker(join(dir, 'limits'), server.uri);
    const run = (await t.startRun({ experiment: 'limits', runName: 'big' })) as LocalFirstRun;
    const params: Record<string, string> = {};
    for (let i = 0; i < 150; i++) params[`p.${String(i).padStart(3, '0')}`] = `v${i}`;
    params['recipe.text'] = 'y'.repeat(10_000);
    await run.logParams(params);
    const points = Array.from({ length: 2500 }, (_, i) => ({ key: `m/${i % 3}`, value: i, step: i, timestamp: 1_000 + i }));
    await run.logMetrics(points);
    await run.finish('FINISHED');
    await t.close();
    const got = readRunsWithPython(server.uri, [run.remoteRunId!])[run.remoteRunId!];
    assert.equal(Object.keys(got.params).length, 151);
    assert.equal(got.params['p.149'], 'v149');
    assert.equal(got.params['recipe.text'].length, 6000);
    assert.match(got.params['recipe.text'], /^y+…\[sha256:[0-9a-f]{16}\]$/);
    for (const key of ['m/0', 'm/1', 'm/2']) {
      assert.deepEqual(
        got.metrics[key],
        points.filter((p) => p.key === key).map((p) => [p.step, p.timestamp, p.value]),
      );
    }
  });

  it('keeps a token and basic-auth credentials out of params, tags, artifacts and the local store @slow', async () => {
    const token = 'tok-SECRET-4f9a1c77';
    const password = 'pw-SECRET-b3e0d1';
    const saved = process.env.MLFLOW_TRACKING_TOKEN;
    process.env.MLFLOW_TRACKING_TOKEN = token;
    const store = join(dir, 'secrets');
    const uri = server.uri.replace('http://', `http://alice:${password}@`);
    try {
      const t = tracker(store, uri);
      assert.ok(!t.location.includes(password), t.location);
      const run = (await t.startRun({ experiment: 'secrets', runName: 'r', tags: { 'shnet.trackingUri': uri } })) as LocalFirstRun;
      await run.logParams({ 'tracker.args.trackingUri': uri, 'env.token': token });
      writeFileSync(join(dir, 'resolved.yaml'), `tracker:\n  trackingUri: ${uri}\n  token: ${token}\n`);
      await run.logArtifact(join(dir, 'resolved.yaml'));
      await run.logMetrics([{ key: 'train/loss', value: 1, step: 0 }]);
      await run.finish('FINISHED');
      await t.close();
      const got = readRunsWithPython(server.uri, [run.remoteRunId!])[run.remoteRunId!];
      assert.equal(got.params['tracker.args.trackingUri'], server.uri.replace('http://', 'http://***@'));
      const everything = JSON.stringify(got) + allText(store);
      for (const secret of [token, password]) assert.ok(!everything.includes(secret), `${secret} leaked`);
      assert.ok(got.artifacts['resolved.yaml'].includes('token: ***'));
    } finally {
      if (saved === undefined) delete process.env.MLFLOW_TRACKING_TOKEN;
      else process.env.MLFLOW_TRACKING_TOKEN = saved;
    }
  });

  it('loses nothing and duplicates nothing when the server is killed mid-run and restarted @slow', async () => {
    const t = tracker(join(dir, 'outage'), server.uri, { flushTimeoutMs: 300 });
    const run = (await t.startRun({ experiment: 'outage', runName: 'r' })) as LocalFirstRun;
    const logged: { key: string; value: number; step: number; timestamp: number }[] = [];
    const logSteps = async (from: number, to: number) => {
      for (let step = from; step < to; step++) {
        const batch = ['train/loss', 'train/lr'].map((key, k) => ({ key, value: step * 10 + k, step, timestamp: 1_000 + step }));
        logged.push(...batch);
        await run.logMetrics(batch);
        if (step % 20 === 0) await new Promise((done) => setTimeout(done, 5));
      }
    };
    await logSteps(0, 200);
    await run.flush();
    await server.kill();
    await logSteps(200, 500);
    const started = Date.now();
    await run.flush(300);
    const waited = Date.now() - started;
    assert.ok(waited < 1_500, `flush waited ${waited} ms for a dead server`);
    await server.restart();
    await logSteps(500, 600);
    await run.finish('FINISHED');
    await run.flush(30_000);
    await t.close();
    const got = readRunsWithPython(server.uri, [run.remoteRunId!])[run.remoteRunId!];
    for (const key of ['train/loss', 'train/lr']) {
      const expected = logged.filter((p) => p.key === key).map((p) => [p.step, p.timestamp, p.value]);
      assert.equal(got.metrics[key].length, expected.length, `${key}: ${got.metrics[key].length} points on the server`);
      assert.deepEqual(got.metrics[key], expected);
    }
    assert.equal(got.info.status, 'FINISHED');
  });

  it('delivers an offline run with `shnet sync`, once, and resumes it into the same server run @slow', async () => {
    const store = join(dir, 'offline');
    const offline = new MlflowTracker({ localStore: store, offline: true } as MlflowTrackerOptions);
    const run = await offline.startRun({ experiment: 'offline', runName: 'hpc' });
    await run.logParams({ seed: 7 });
    await run.logMetrics(Array.from({ length: 50 }, (_, step) => ({ key: 'rsum', value: step, step, timestamp: 5_000 + step })));
    await run.finish('FINISHED');
    await offline.close();

    const out = await shnetOutput(['sync', run.runId, '--store', store, '--tracking-uri', server.uri]);
    assert.match(out, new RegExp(`${run.runId} -> [0-9a-f]{32}: 1 params, \\d+ tags, 50 metric points, status FINISHED`));
    const [again] = await syncRuns(store, server.uri, [run.runId]);
    assert.deepEqual([again.params, again.tags, again.metrics, again.artifacts, again.status], [0, 0, 0, 0, undefined]);

    const resumed = (await tracker(store, server.uri).startRun({ experiment: 'offline', runName: 'hpc', resumeRunId: run.runId })) as LocalFirstRun;
    assert.equal(resumed.runId, run.runId);
    await resumed.logMetrics([{ key: 'rsum', value: 99, step: 50, timestamp: 6_000 }]);
    await resumed.finish('FINISHED');
    const got = readRunsWithPython(server.uri, [again.remoteRunId!])[again.remoteRunId!];
    assert.equal(got.metrics.rsum.length, 51);
    assert.deepEqual(got.metrics.rsum.at(-1), [50, 6_000, 99]);
    assert.equal(got.info.status, 'FINISHED');
  });

  it('compare reads runs from the server (table and json) @slow', async () => {
    const t = tracker(join(dir, 'compare'), server.uri);
    const ids: string[] = [];
    for (const loss of ['triplet', 'infonce']) {
      const run = (await t.startRun({ experiment: 'compare', runName: loss })) as LocalFirstRun;
      await run.logParams({ loss, 'data.name': 'f30k' });
      await run.logMetrics([
        { key: 'i2t/R1', value: loss === 'triplet' ? 70 : 72, step: 1 },
        { key: 'rsum', value: loss === 'triplet' ? 500 : 505, step: 1 },
        { key: 'train/loss', value: 0.1, step: 1 },
      ]);
      await run.finish('FINISHED');
      ids.push(run.remoteRunId!);
    }
    await t.close();
    const table = await compareOutput([...ids, '--tracking-uri', server.uri]);
    const lines = table.trim().split('\n');
    assert.deepEqual(lines[0].split(/\s{2,}/), ['run', 'name', 'loss', 'i2t/R1', 'rsum']);
    assert.deepEqual(lines[2].split(/\s{2,}/), [ids[1], 'infonce', 'infonce', '72', '505']);
    assert.deepEqual(lines[3].split(/\s{2,}/), [ids[0], 'triplet', 'triplet', '70', '500']);
    const json = JSON.parse(
      await compareOutput(['--experiment', 'compare', '--filter', 'metrics.rsum > 501', '--format', 'json', '--tracking-uri', server.uri]),
    );
    assert.deepEqual(json.runs, [{ runId: ids[1], runName: 'infonce', params: {}, metrics: { 'i2t/R1': 72, rsum: 505 } }]);
  });
});

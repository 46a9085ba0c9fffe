import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SweepState } from '../../../core/sweep/state';
import { connect } from '../../../plugins/tracker/mlflow/connection';
import { MlflowRestClient } from '../../../plugins/tracker/mlflow/rest-client';
import { shnet } from '../../support/cli';
import { type RunningCli, readJson, startShnet, waitFor } from '../../support/cli-process';
import { type MlflowTestServer, startMlflowServer } from '../../support/mlflow-server';
import { type RedisTestServer, startRedisServer } from '../../support/redis-server';
import { freePort } from '../../support/free-port';
import { setFlags, tinyShapesOverrides, writeSweepFile } from '../../support/tiny-shapes';

/** The trial a worker is running now (started, not yet reported done or failed), from its log. */
function currentTrial(worker: RunningCli): string | undefined {
  const started = [...worker.output().matchAll(/: trial ([0-9a-f]{12}) of sweep/g)].map((m) => m[1]);
  const last = started[started.length - 1];
  return last && !new RegExp(`: trial ${last} (done|failed)`).test(worker.output()) ? last : undefined;
}

describe('bullmq executor: shnet worker processes against a real Redis @slow', function () {
  this.timeout(900_000);
  let redis: RedisTestServer;
  let mlflow: MlflowTestServer;
  const workers: RunningCli[] = [];

  before(async () => {
    redis = await startRedisServer();
    mlflow = await startMlflowServer();
  });

  after(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await redis?.stop();
    await mlflow?.stop();
  });

  it('runs a 2×2 grid on two workers; a worker killed mid-trial has its trial resumed by the other, each trial finishing once', async () => {
    const { dir, file } = writeSweepFile('grid:\n  optimizer.args.lr: [0.001, 0.002]\n  vars.embedDim: [8, 16]');
    const queue = `sweep-test-${process.pid}`;
    const env = { REDIS_URL: redis.url, MLFLOW_TRACKING_URI: mlflow.uri };
    // Short locks so a dead worker's job is noticed in seconds (the defaults are 30 s).
    const workerArgs = ['worker', '--queue', queue, '--lock-duration-ms', '3000', '--stalled-interval-ms', '1000'];
    workers.push(startShnet(workerArgs, { cwd: dir, env }), startShnet(workerArgs, { cwd: dir, env }));
    const sweep = startShnet(['sweep', file, '--executor', 'bullmq', '--queue', queue, ...setFlags(tinyShapesOverrides(3))], { cwd: dir, env });

    // Kill (SIGKILL: no clean-up at all) the first worker found mid-trial with a checkpoint written.
    let victim: { worker: RunningCli; trial: string } | undefined;
    const checkpointed = (trial: string) =>
      existsSync(join(dir, 'runs', 'sweeps')) &&
      sweepDirOf(dir) !== undefined &&
      existsSync(join(sweepDirOf(dir)!, 'trials', trial, 'run', 'checkpoints', 'last.safetensors'));
    await waitFor(
      () => {
        if (sweep.child.exitCode !== null) throw new Error(`the sweep ended early:\n${sweep.output()}`);
        for (const worker of workers) {
          const trial = currentTrial(worker);
          if (trial && checkpointed(trial)) victim = { worker, trial };
        }
        return victim !== undefined;
      },
      300_000,
      () => `${sweep.output()}\n${workers.map((w) => w.output()).join('\n')}`,
    );
    victim!.worker.child.kill('SIGKILL');

    const code = await sweep.exited;
    const survivor = workers.find((w) => w !== victim!.worker)!;
    assert.equal(code, 0, `${sweep.output()}\n--- surviving worker:\n${survivor.output()}`);
    const sweepDir = sweepDirOf(dir)!;
    const state = readJson<SweepState>(join(sweepDir, 'sweep-state.json'))!;
    assert.deepEqual(
      Object.values(state.trials).map((t) => t.status),
      ['done', 'done', 'done', 'done'],
    );

    // The killed worker's trial went back to the queue and continued from its checkpoint on the other worker.
    assert.match(survivor.output(), new RegExp(`trial ${victim!.trial} of sweep ${state.sweepId}`));
    const log = readFileSync(join(sweepDir, 'trials', victim!.trial, 'trial.log'), 'utf8');
    const starts = log.match(/^== .*$/gm)!;
    assert.equal(starts.length, 2, log);
    assert.match(starts[1], /--resume /);
    // The dead worker's own trial process saw its parent go and stopped instead of training on unwatched.
    assert.match(log.slice(0, log.indexOf(starts[1])), /SIGTERM received: stopping after the current step/);
    assert.match(log, /resuming from .*last\.safetensors: [12] epochs/);

    // MLflow: one parent run with the sweep settings, four child runs with their swept params, each trial once.
    const client = new MlflowRestClient(connect(mlflow.uri));
    const experiment = (await client.getExperimentByName('shapes'))!;
    const runs = await client.searchRuns([experiment.experiment_id], `tags.\`shnet.sweep_id\` = '${state.sweepId}'`);
    const tag = (run: (typeof runs)[number], key: string) => run.data.tags?.find((t) => t.key === key)?.value;
    const param = (run: (typeof runs)[number], key: string) => run.data.params?.find((p) => p.key === key)?.value;
    const parents = runs.filter((r) => !tag(r, 'mlflow.parentRunId'));
    const children = runs.filter((r) => tag(r, 'mlflow.parentRunId'));
    assert.equal(parents.length, 1);
    const parent = parents[0];
    assert.equal(parent.info.status, 'FINISHED');
    assert.equal(param(parent, 'sweep.grid.optimizer.args.lr'), '[0.001,0.002]');
    assert.equal(param(parent, 'sweep.trials'), '4');
    const artifacts = (await client.listArtifacts(parent.info.run_id)).map((a) => a.path).sort();
    assert.deepEqual(artifacts, ['plan.json', 'sweep.yaml']);
    assert.equal(children.length, 4, JSON.stringify(children.map((c) => c.info)));
    assert.ok(children.every((c) => tag(c, 'mlflow.parentRunId') === parent.info.run_id));
    assert.ok(
      children.every((c) => c.info.status === 'FINISHED'),
      JSON.stringify(children.map((c) => c.info.status)),
    );
    assert.deepEqual(children.map((c) => tag(c, 'shnet.trial_id')).sort(), Object.keys(state.trials).sort());
    const combos = children.map((c) => `${param(c, 'optimizer.args.lr')}/${param(c, 'vars.embedDim')}`).sort();
    assert.deepEqual(combos, ['0.001/16', '0.001/8', '0.002/16', '0.002/8']);

    // shnet compare --sweep ranks the four trials by their last validation rSum (the default ranking).
    const compared = shnet(['compare', '--sweep', state.sweepId, '--format', 'json'], { cwd: dir, env });
    assert.equal(compared.status, 0, compared.stderr);
    const table = JSON.parse(compared.stdout) as { runs: Array<{ metrics: Record<string, number> }> };
    const rsums = table.runs.map((r) => r.metrics['val/rsum']);
    assert.equal(rsums.length, 4);
    assert.ok(rsums.every(Number.isFinite), `val/rsum of each trial: ${rsums.join(', ')}`);
    assert.deepEqual(
      rsums,
      [...rsums].sort((a, b) => b - a),
    );
  });

  it('--detach submits and returns; --resume re-attaches to the queued jobs without submitting them again', async () => {
    const { dir, file } = writeSweepFile('seeds: [0, 1]');
    const queue = `detach-test-${process.pid}`;
    const env = { REDIS_URL: redis.url };
    const args = [
      'sweep',
      file,
      '--executor',
      'bullmq',
      '--queue',
      queue,
      ...setFlags([...tinyShapesOverrides(1).filter((o) => !o.startsWith('seed=')), 'tracker=null']),
    ];
    const detached = shnet([...args, '--detach'], { cwd: dir, env });
    assert.equal(detached.status, 0, detached.stderr);
    assert.match(detached.stderr, /detached; follow it with `shnet sweep .* --resume`/);
    const sweepDir = sweepDirOf(dir)!;
    const submitted = readJson<SweepState>(join(sweepDir, 'sweep-state.json'))!;
    assert.deepEqual(
      Object.values(submitted.trials).map((t) => [t.status, t.attempts]),
      [
        ['pending', 1],
        ['pending', 1],
      ],
    );

    const worker = startShnet(['worker', '--queue', queue], { cwd: dir, env });
    workers.push(worker);
    const attached = startShnet([...args, '--resume'], { cwd: dir, env });
    assert.equal(await attached.exited, 0, `${attached.output()}\n${worker.output()}`);
    const state = readJson<SweepState>(join(sweepDir, 'sweep-state.json'))!;
    assert.deepEqual(
      Object.values(state.trials).map((t) => [t.status, t.attempts]),
      [
        ['done', 1],
        ['done', 1],
      ],
    );
    for (const id of Object.keys(state.trials)) {
      const log = readFileSync(join(sweepDir, 'trials', id, 'trial.log'), 'utf8');
      assert.equal(log.match(/^== /gm)!.length, 1, 'each trial ran once');
    }
    assert.equal(worker.output().match(/: trial [0-9a-f]{12} of sweep/g)!.length, 2);
  });
});

describe('bullmq executor: Redis restarted or unreachable', function () {
  this.timeout(900_000);
  const running: RunningCli[] = [];
  after(() => {
    for (const cli of running) if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
  });

  it('a Redis restart while trials run hands them out again, yet each runs once and is evaluated once @slow', async () => {
    const redis = await startRedisServer();
    try {
      const { dir, file } = writeSweepFile('seeds: [0, 1]');
      const queue = `restart-test-${process.pid}`;
      const env = { REDIS_URL: redis.url };
      // Spare slots: a job handed out again is taken at once, while the first run of its trial still goes on.
      const worker = startShnet(['worker', '--queue', queue, '--concurrency', '4', '--lock-duration-ms', '3000', '--stalled-interval-ms', '1000'], {
        cwd: dir,
        env,
      });
      running.push(worker);
      const sweep = startShnet(
        [
          'sweep',
          file,
          '--executor',
          'bullmq',
          '--queue',
          queue,
          ...setFlags([...tinyShapesOverrides(4).filter((o) => !o.startsWith('seed=')), 'tracker=null']),
        ],
        { cwd: dir, env },
      );
      running.push(sweep);
      await waitFor(
        () => (worker.output().match(/: trial [0-9a-f]{12} of sweep/g) ?? []).length === 2,
        300_000,
        () => `${sweep.output()}\n${worker.output()}`,
      );
      await redis.restart(); // every job, lock and queue key is gone

      assert.equal(await sweep.exited, 0, `${sweep.output()}\n--- worker:\n${worker.output()}`);
      assert.match(sweep.output(), /its job is gone from Redis; submitted again/);
      const sweepDir = sweepDirOf(dir)!;
      const state = readJson<SweepState>(join(sweepDir, 'sweep-state.json'))!;
      assert.deepEqual(
        Object.values(state.trials).map((t) => t.status),
        ['done', 'done'],
      );
      for (const id of Object.keys(state.trials)) {
        const log = readFileSync(join(sweepDir, 'trials', id, 'trial.log'), 'utf8');
        assert.equal(log.match(/^== /gm)!.length, 1, `trial ${id} ran once:\n${log}`);
        assert.equal(log.match(/^\[shnet\] test on /gm)?.length, 1, `trial ${id} was evaluated once`);
        assert.ok(existsSync(join(sweepDir, 'trials', id, 'run', 'trial-done.json')));
      }
    } finally {
      await redis.stop();
    }
  });

  it('unreachable Redis: the sweep says so and exits 2 instead of waiting silently', async () => {
    const { dir, file } = writeSweepFile('seeds: [0, 1]');
    const closed = await freePort();
    const out = shnet(['sweep', file, '--executor', 'bullmq', ...setFlags(['executor={type: bullmq, args: {connectTimeoutMs: 1500}}', 'tracker=null'])], {
      cwd: dir,
      env: { REDIS_URL: `redis://127.0.0.1:${closed}` },
      timeoutMs: 60_000,
    });
    assert.equal(out.status, 2, out.stderr);
    assert.match(out.stderr, new RegExp(`cannot reach Redis at redis://127\\.0\\.0\\.1:${closed} \\(connect ECONNREFUSED.*\\) within 1\\.5 s`));
  });

  it('unreachable Redis: SIGTERM (or SIGINT) while the sweep waits for it stops the sweep', async () => {
    const { dir, file } = writeSweepFile('seeds: [0, 1]');
    const closed = await freePort();
    const sweep = startShnet(
      ['sweep', file, '--executor', 'bullmq', ...setFlags(['executor={type: bullmq, args: {connectTimeoutMs: 600000}}', 'tracker=null'])],
      {
        cwd: dir,
        env: { REDIS_URL: `redis://127.0.0.1:${closed}` },
      },
    );
    running.push(sweep);
    await waitFor(
      () => existsSync(join(dir, 'runs', 'sweeps')),
      60_000,
      () => sweep.output(),
    );
    await new Promise((done) => setTimeout(done, 1000));
    const signalled = Date.now();
    sweep.child.kill('SIGTERM');
    const code = await sweep.exited;
    assert.ok(Date.now() - signalled < 10_000, 'stopped promptly');
    assert.equal(code, 1, sweep.output());
    assert.match(sweep.output(), /SIGTERM received: stopping the sweep/);
    assert.match(sweep.output(), /interrupted: 0 of 2 trials done; continue with --resume/);
  });
});

function sweepDirOf(dir: string): string | undefined {
  const root = join(dir, 'runs', 'sweeps');
  if (!existsSync(root)) return undefined;
  const [id] = readdirSync(root);
  return id ? join(root, id) : undefined;
}

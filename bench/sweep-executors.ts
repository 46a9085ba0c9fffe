/**
 * What the BullMQ executor costs per trial over the local one: the same tiny sweep (N seeds of a shrunken
 * recipes/shapes/3shnet.yaml, 1 epoch, local MLflow store only) through `--executor local` and through
 * `--executor bullmq` with one `shnet worker` (concurrency 1) on a local Redis, one trial at a time in both.
 * Both start each trial as a `shnet run` process, so the queue's own cost is the gap between one trial's end and the
 * next one's start (submission, the worker's pick-up, reporting back), read from the trials' logs; the wall time of
 * the whole command is reported too, but on a shared machine it mostly measures the trials' own time. The two
 * executors alternate, `rounds` times each, so load from other processes falls on both alike.
 *
 *   npx tsc -p . && node dist/bench/sweep-executors.js [N] [rounds]
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startShnet, waitFor } from '../test/support/cli-process';
import { CLI } from '../test/support/cli';
import { startRedisServer } from '../test/support/redis-server';
import { setFlags, tinyShapesOverrides, writeSweepFile } from '../test/support/tiny-shapes';

function timedSweep(args: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`shnet ${args.join(' ')} failed:\n${result.stderr}`);
  return (performance.now() - start) / 1000;
}

/** Per trial: start (the log header written just before `shnet run` is spawned) and end (the log's last write). */
function trialTimes(sweepsRoot: string): Array<{ start: number; end: number }> {
  const [sweep] = readdirSync(sweepsRoot);
  const trials = join(sweepsRoot, sweep, 'trials');
  return readdirSync(trials)
    .map((id) => {
      const log = join(trials, id, 'trial.log');
      const header = /^== (\S+) /m.exec(readFileSync(log, 'utf8'))!;
      return { start: Date.parse(header[1]), end: statSync(log).mtimeMs };
    })
    .sort((a, b) => a.start - b.start);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main() {
  const n = Number(process.argv[2] ?? 4);
  const rounds = Number(process.argv[3] ?? 2);
  const seeds = Array.from({ length: n }, (_, i) => i);
  const { dir, file } = writeSweepFile(`seeds: ${JSON.stringify(seeds)}`);
  const base = [...tinyShapesOverrides(1).filter((o) => !o.startsWith('seed=')), 'tracker={type: mlflow, args: {offline: true}}'];
  const redis = await startRedisServer();
  const worker = startShnet(['worker', '--queue', 'bench'], { cwd: dir, env: { REDIS_URL: redis.url } });
  const results: Record<string, { wall: number[]; trial: number[]; gap: number[] }> = {
    local: { wall: [], trial: [], gap: [] },
    bullmq: { wall: [], trial: [], gap: [] },
  };
  try {
    await waitFor(
      () => /waiting for trials/.test(worker.output()),
      30_000,
      () => worker.output(),
    );
    for (let round = 0; round < rounds; round++) {
      for (const executor of ['local', 'bullmq']) {
        const output = join(dir, `runs-${executor}-${round}`);
        const wall = timedSweep(
          ['sweep', file, '--executor', executor, ...(executor === 'bullmq' ? ['--queue', 'bench'] : []), ...setFlags([...base, `output=${output}`])],
          dir,
          { REDIS_URL: redis.url },
        );
        const times = trialTimes(join(output, 'sweeps'));
        results[executor].wall.push(wall / n);
        results[executor].trial.push(...times.map((t) => (t.end - t.start) / 1000));
        results[executor].gap.push(...times.slice(1).map((t, i) => (t.start - times[i].end) / 1000));
      }
    }
    console.log(`${n} trials per sweep, one at a time, ${rounds} sweeps per executor`);
    for (const [executor, r] of Object.entries(results)) {
      console.log(
        `${executor.padEnd(6)}: ${mean(r.wall).toFixed(2)} s wall per trial, ${mean(r.trial).toFixed(2)} s in shnet run, ${(mean(r.gap) * 1000).toFixed(0)} ms between trials`,
      );
    }
    console.log(`queue overhead per trial (gap difference): ${((mean(results.bullmq.gap) - mean(results.local.gap)) * 1000).toFixed(0)} ms`);
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
    await redis.stop();
  }
}

void main();

/**
 * How long tracking costs the training loop: a simulated 25-epoch run (100 steps × 3 train metrics per epoch, 13
 * validation metrics per epoch) logged through the mlflow tracker to a real MLflow server, with background delivery.
 * Reports the wall time spent inside tracker calls on the training path against the run's total wall time.
 *
 *   npx ts-node --transpile-only bench/mlflow-tracking.ts [stepMs]
 *
 * `stepMs` (default 2) stands in for one training step's compute, as an asynchronous wait so delivery can interleave.
 */
import 'reflect-metadata';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { MlflowTracker, type MlflowTrackerOptions } from '../plugins/tracker/mlflow';
import type { LocalFirstRun } from '../plugins/tracker/mlflow/local-first-run';
import { readRunsWithPython, tempDir } from '../test/plugins/tracker/mlflow/python-reader';
import { startMlflowServer } from '../test/support/mlflow-server';

const EPOCHS = 25;
const STEPS = 100;
const VALIDATION = [
  'i2t/R1',
  'i2t/R5',
  'i2t/R10',
  't2i/R1',
  't2i/R5',
  't2i/R10',
  'rsum',
  'i2t/medr',
  't2i/medr',
  'i2t/meanr',
  't2i/meanr',
  'val/loss',
  'val/time',
];

async function main() {
  const stepMs = Number(process.argv[2] ?? 2);
  const server = await startMlflowServer();
  const dir = tempDir('bench-mlflow');
  try {
    const tracker = new MlflowTracker({ localStore: join(dir, 'mlruns'), trackingUri: server.uri } as MlflowTrackerOptions);
    let inside = 0;
    const timed = async <T>(call: () => Promise<T>): Promise<T> => {
      const start = performance.now();
      try {
        return await call();
      } finally {
        inside += performance.now() - start;
      }
    };
    const begin = performance.now();
    const run = (await timed(() => tracker.startRun({ experiment: 'bench', runName: '25-epochs' }))) as LocalFirstRun;
    await timed(() => run.logParams(Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`recipe.p${i}`, i]))));
    let finishMs = 0;
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      for (let s = 0; s < STEPS; s++) {
        const step = epoch * STEPS + s;
        await new Promise((done) => setTimeout(done, stepMs));
        await timed(() =>
          run.logMetrics([
            { key: 'train/loss', value: Math.random(), step },
            { key: 'train/lr', value: 2e-4, step },
            { key: 'train/grad_norm', value: Math.random(), step },
          ]),
        );
      }
      await timed(() => run.logMetrics(VALIDATION.map((key) => ({ key, value: Math.random() * 100, step: epoch }))));
    }
    const finishStart = performance.now();
    await timed(() => run.finish('FINISHED'));
    finishMs = performance.now() - finishStart;
    await timed(() => tracker.close());
    const total = performance.now() - begin;
    const got = readRunsWithPython(server.uri, [run.remoteRunId!])[run.remoteRunId!];
    const points = Object.values(got.metrics).reduce((n, list) => n + list.length, 0);
    console.log(
      JSON.stringify({
        stepMs,
        calls: EPOCHS * STEPS + EPOCHS + 4,
        metricPoints: EPOCHS * STEPS * 3 + EPOCHS * VALIDATION.length,
        pointsOnServer: points,
        totalRunMs: Math.round(total),
        insideTrackerMs: Math.round(inside),
        finishFlushMs: Math.round(finishMs),
        insideExcludingFinishMs: Math.round(inside - finishMs),
        fractionInside: +(inside / total).toFixed(4),
      }),
    );
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { MlflowTracker, type MlflowTrackerOptions } from '../../../../plugins/tracker/mlflow';
import type { LocalFirstRun } from '../../../../plugins/tracker/mlflow/local-first-run';
import { type MlflowTestServer, startMlflowServer } from '../../../support/mlflow-server';
import { readRunsWithPython, tempDir } from './python-reader';

/**
 * A TCP relay in front of the server that forwards the first `runs/log-batch` request but cuts the connection when the
 * answer comes back: the client sees a failure for a batch the server applied — the case that duplicates points
 * unless the client checks before re-sending.
 */
function lossyRelay(upstreamPort: number): Promise<{ port: number; logBatches: () => number; close: () => void }> {
  let logBatches = 0;
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(upstreamPort, '127.0.0.1');
    let dropAnswer = false;
    client.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      if (text.includes('POST /api/2.0/mlflow/runs/log-batch')) dropAnswer = ++logBatches === 1;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!dropAnswer) return void client.write(chunk);
      client.destroy();
      upstream.destroy();
    });
    const end = () => (client.destroy(), upstream.destroy());
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ port: typeof address === 'object' && address ? address.port : 0, logBatches: () => logBatches, close: () => server.close() });
    }),
  );
}

describe('mlflow tracker: a log-batch whose answer is lost @slow', function () {
  this.timeout(120_000);
  let server: MlflowTestServer;
  let dir: string;

  // A FileStore-backed server appends every point it receives (the SQL store would silently drop exact duplicates),
  // so a re-sent chunk would show up twice here.
  before(async () => {
    server = await startMlflowServer({ backend: 'file' });
    dir = tempDir('mlflow-lost');
  });

  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is resolved against metrics/get-history: every point on the server exactly once @slow', async () => {
    const relay = await lossyRelay(server.port);
    try {
      const tracker = new MlflowTracker({
        localStore: join(dir, 'mlruns'),
        trackingUri: `http://127.0.0.1:${relay.port}`,
        retry: { initialDelayMs: 20, maxDelayMs: 100, maxTotalMs: 2_000 },
        deliveryIntervalMs: 50,
        flushTimeoutMs: 20_000,
      } as MlflowTrackerOptions);
      const run = (await tracker.startRun({ experiment: 'lost', runName: 'r' })) as LocalFirstRun;
      const points = Array.from({ length: 1500 }, (_, i) => ({ key: i % 2 ? 'train/loss' : 'i2t/R1', value: i, step: i, timestamp: 1_000 + i }));
      await run.logMetrics(points);
      await run.finish('FINISHED');
      await tracker.close();
      assert.ok(relay.logBatches() >= 2, `the relay saw ${relay.logBatches()} log-batch requests`);
      const got = readRunsWithPython(server.uri, [run.remoteRunId!])[run.remoteRunId!];
      for (const key of ['i2t/R1', 'train/loss']) {
        const expected = points.filter((p) => p.key === key).map((p) => [p.step, p.timestamp, p.value]);
        const sorted = [...got.metrics[key]].sort((a, b) => a[0] - b[0]);
        assert.equal(sorted.length, expected.length, `${key}: ${sorted.length} points, ${expected.length} logged`);
        assert.deepEqual(sorted, expected);
      }
      assert.equal(got.info.status, 'FINISHED');
    } finally {
      relay.close();
    }
  });
});

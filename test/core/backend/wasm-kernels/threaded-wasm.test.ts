import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { wasmThreadsShare, wasmThreadsWanted } from '../../../../core/backend/select';

const run = promisify(execFile);
const distCore = join(__dirname, '..', '..', '..', '..', 'core');

/**
 * A child process selects wasm with SHNET_WASM_THREADS=`threads`, computes a product, a convolution and their
 * gradients, prints the backend line and a checksum of every output, and ends WITHOUT process.exit: the pool
 * threads must not keep it alive.
 */
async function childRun(threads: string): Promise<{ backend: string; threads: number; checksum: string }> {
  const script = `
    const { tf } = require(${JSON.stringify(join(distCore, 'backend', 'tf.js'))});
    const { selectBackend, describeBackend } = require(${JSON.stringify(join(distCore, 'backend', 'select.js'))});
    const { createHash } = require('node:crypto');
    (async () => {
      const info = await selectBackend('wasm');
      const hash = createHash('sha256');
      const a = tf.randomNormal([1200, 200], 0, 1, 'float32', 1);
      const b = tf.randomNormal([200, 170], 0, 1, 'float32', 2);
      const x = tf.randomNormal([4, 24, 24, 16], 0, 1, 'float32', 3);
      const w = tf.randomNormal([3, 3, 16, 32], 0, 0.1, 'float32', 4);
      const loss = (a, b, x, w) => tf.matMul(a, b).tanh().sum().add(tf.conv2d(x, w, 1, 'same').square().sum());
      for (const t of [tf.matMul(a, b), ...tf.grads(loss)([a, b, x, w])]) hash.update(Buffer.from(t.dataSync().buffer));
      console.log(JSON.stringify({ backend: describeBackend(info), threads: info.threads, checksum: hash.digest('hex') }));
    })();`;
  const { stdout } = await run(process.execPath, ['-e', script], {
    env: { ...process.env, SHNET_WASM_THREADS: threads },
    timeout: 120_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('the threaded wasm build in Node', function () {
  this.timeout(240_000);

  it('runs on the threads asked for, gives bit-identical results to one thread, and lets the process exit', async function () {
    if (availableParallelism() < 2) this.skip(); // one core: nothing to compare
    const single = await childRun('1');
    const threaded = await childRun('2');
    assert.equal(single.threads, 1);
    assert.match(single.backend, /^wasm \(1 thread, SIMD\)/);
    assert.equal(threaded.threads, 2, threaded.backend);
    assert.match(threaded.backend, /^wasm \(2 threads, SIMD\)/);
    // XNNPACK splits work by output tiles, never inside a dot product, so threading must not change one bit.
    assert.equal(threaded.checksum, single.checksum);
  });

  it('reads SHNET_WASM_THREADS: default one per core, capped at the preallocated pool, bad values named', () => {
    assert.equal(wasmThreadsWanted({}), Math.min(8, availableParallelism()));
    assert.equal(wasmThreadsWanted({ SHNET_WASM_THREADS: '1' }), 1);
    assert.equal(wasmThreadsWanted({ SHNET_WASM_THREADS: '64' }), 8);
    assert.throws(() => wasmThreadsWanted({ SHNET_WASM_THREADS: 'two' }), /SHNET_WASM_THREADS must be a whole number ≥ 1, got 'two'/);
    assert.throws(() => wasmThreadsWanted({ SHNET_WASM_THREADS: '0' }), /got '0'/);
  });

  it('shares the cores among parallel processes, keeping a count the user set', () => {
    const cores = availableParallelism();
    assert.deepEqual(wasmThreadsShare(1, {}), { SHNET_WASM_THREADS: String(cores) });
    assert.deepEqual(wasmThreadsShare(cores, {}), { SHNET_WASM_THREADS: '1' });
    assert.deepEqual(wasmThreadsShare(4 * cores, {}), { SHNET_WASM_THREADS: '1' });
    assert.deepEqual(wasmThreadsShare(2, { SHNET_WASM_THREADS: '3' }), {});
  });
});

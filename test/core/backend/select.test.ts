import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { BACKEND_NAMES, describeBackend, installedBackends, selectBackend, wasmThreadsWanted } from '../../../core/backend/select';
import { restoreBackendAfterSuite } from '../../support/tensors';

const nativeInstalled = () => installedBackends().some((name) => name.startsWith('tensorflow'));

describe('selectBackend', () => {
  restoreBackendAfterSuite();

  it('lists backends best first', () => {
    assert.deepEqual([...BACKEND_NAMES], ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
  });

  it('auto picks wasm here and says why each native backend was skipped', async function () {
    if (nativeInstalled()) this.skip(); // a machine with tfjs-node would rightly pick it
    await tf.setBackend('cpu'); // so that auto really selects, not repeats
    const info = await selectBackend('auto');
    assert.equal(info.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(info.threads, wasmThreadsWanted()); // one per core unless SHNET_WASM_THREADS says otherwise
    assert.equal(info.simd, true);
    assert.deepEqual(info.reason, [
      'tensorflow-gpu: @tensorflow/tfjs-node-gpu is not installed (optional peer dependency)',
      'tensorflow: @tensorflow/tfjs-node is not installed (optional peer dependency)',
    ]);
    const threads = info.threads === 1 ? '1 thread' : `${info.threads} threads`;
    assert.ok(describeBackend(info).startsWith(`wasm (${threads}, SIMD); skipped `), describeBackend(info));
    assert.match(describeBackend(info), /; skipped tensorflow-gpu: .*not installed.*; tensorflow: .*not installed/);
  });

  it('auto picks the native backend once `npm run native` has installed it', async function () {
    if (!installedBackends().includes('tensorflow')) this.skip();
    await tf.setBackend('cpu');
    const info = await selectBackend('auto');
    assert.equal(info.name, 'tensorflow');
    assert.equal(tf.getBackend(), 'tensorflow');
    assert.ok(info.threads >= 1);
    assert.deepEqual(info.reason, ['tensorflow-gpu: @tensorflow/tfjs-node-gpu is not installed (optional peer dependency)']);
  });

  it('an explicit backend that is not available is an error naming why and what is installed', async function () {
    if (nativeInstalled()) this.skip();
    await selectBackend('wasm');
    await assert.rejects(
      selectBackend('tensorflow'),
      /^Error: Backend 'tensorflow' is not available: @tensorflow\/tfjs-node is not installed \(optional peer dependency\)\. Installed: wasm, cpu \(or 'auto'\)$/,
    );
    await assert.rejects(selectBackend('tensorflow-gpu'), /@tensorflow\/tfjs-node-gpu is not installed/);
    assert.equal(tf.getBackend(), 'wasm', 'the failed selection leaves the active backend alone');
  });

  it('rejects an unknown name, listing the known ones', async () => {
    await assert.rejects(selectBackend('gpu' as never), /Unknown backend 'gpu'\. Known: auto, tensorflow-gpu, tensorflow, wasm, cpu/);
  });

  it('switches between cpu and wasm, each passing its smoke test', async () => {
    assert.deepEqual(await selectBackend('cpu'), { name: 'cpu', threads: 1 });
    assert.equal(tf.getBackend(), 'cpu');
    const wasm = await selectBackend('wasm');
    assert.equal(wasm.name, 'wasm');
    assert.equal(wasm.reason, undefined, 'an explicit request skips nothing');
    assert.equal(tf.getBackend(), 'wasm');
  });

  it('is idempotent and fast when repeated', async () => {
    const first = await selectBackend('wasm');
    const started = performance.now();
    const again = await selectBackend('wasm');
    assert.equal(again, first);
    assert.ok(performance.now() - started < 5, 'a repeated selection does no work');
  });
});

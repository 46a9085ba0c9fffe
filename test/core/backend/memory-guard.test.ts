import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { assertAllocationFits, DEFAULT_WASM_SAFE_BYTES, setWasmSafeLimit, wasmSafeLimit } from '../../../core/backend/memory-guard';
import { restoreBackendAfterSuite } from '../../support/tensors';

describe('assertAllocationFits (wasm heap guard)', () => {
  restoreBackendAfterSuite();
  afterEach(() => setWasmSafeLimit(DEFAULT_WASM_SAFE_BYTES));

  it('defaults to a 3.0 GiB limit', () => {
    assert.equal(DEFAULT_WASM_SAFE_BYTES, 3 * 1024 ** 3);
    assert.equal(wasmSafeLimit(), DEFAULT_WASM_SAFE_BYTES);
  });

  it('on wasm, refuses an allocation that would cross the limit, naming it, the sizes and the limit', async () => {
    await tf.setBackend('wasm');
    const live = tf.zeros([1000]); // 4000 bytes
    const numBytes = tf.memory().numBytes;
    assert.doesNotThrow(() => assertAllocationFits(10_000 - numBytes, 'a fitting chunk', 10_000));
    assert.throws(
      () => assertAllocationFits(10_001 - numBytes, 'similarity matrix 500×25000', 10_000),
      (err: Error) =>
        err.message.includes('similarity matrix 500×25000') &&
        err.message.includes(`${10_001 - numBytes} bytes`) &&
        err.message.includes(`${numBytes} live tensor bytes`) &&
        err.message.includes('safe limit of 10000 bytes'),
    );
    live.dispose();
  });

  it('uses the process-wide limit when none is passed, and validates it', async () => {
    await tf.setBackend('wasm');
    setWasmSafeLimit(tf.memory().numBytes + 100);
    assert.doesNotThrow(() => assertAllocationFits(100, 'exactly up to the limit'));
    assert.throws(() => assertAllocationFits(101, 'one byte too many'), /one byte too many/);
    assert.throws(() => setWasmSafeLimit(0), /positive number of bytes/);
  });

  it('is a no-op on other backends', async () => {
    await tf.setBackend('cpu');
    assert.doesNotThrow(() => assertAllocationFits(16 * 1024 ** 3, 'a 16 GiB tensor on cpu', 1));
  });
});

import assert from 'node:assert/strict';
import { splitBatch } from '../../../../plugins/tracker/mlflow/batching';
import { paramValue, sanitizeKey, truncateValue } from '../../../../plugins/tracker/mlflow/keys';
import { MLFLOW_LIMITS } from '../../../../plugins/tracker/mlflow/limits';

const MLFLOW_KEY = /^[/\w.\- ]*$/;

describe('mlflow keys and values', () => {
  for (const key of ['i2t/R1', 't2i/R10', 'rsum', 'train/loss', 'model.image.args.embedDim', 'system/cpu usage', 'a-b_c']) {
    it(`leaves shnet's key '${key}' unchanged`, () => assert.equal(sanitizeKey(key), key));
  }

  const cases: [string, string][] = [
    ['R@1', 'R_1-'],
    ['/abs/key', 'abs/key-'],
    ['a/../b', 'a/__/b-'],
    ['a//b', 'a/b-'],
    ['accuracy%', 'accuracy_-'],
  ];
  for (const [key, prefix] of cases) {
    it(`maps '${key}' to a valid, readable key starting '${prefix}'`, () => {
      const mapped = sanitizeKey(key);
      assert.ok(mapped.startsWith(prefix), mapped);
      assert.match(mapped, MLFLOW_KEY);
      assert.equal(sanitizeKey(key), mapped, 'same key every time');
    });
  }

  it('keeps keys that differ only in replaced characters apart', () => {
    assert.notEqual(sanitizeKey('R@1'), sanitizeKey('R#1'));
  });

  it('shortens keys over 250 characters to exactly the limit', () => {
    const mapped = sanitizeKey('k'.repeat(300));
    assert.equal(mapped.length, MLFLOW_LIMITS.keyLength);
    assert.notEqual(mapped, sanitizeKey(`${'k'.repeat(299)}j`));
  });

  it('truncates long param values to 6000 characters with a hash of the whole value', () => {
    const long = 'x'.repeat(10_000);
    const value = paramValue(long);
    assert.equal(value.length, 6000);
    assert.match(value, /…\[sha256:[0-9a-f]{16}\]$/);
    assert.notEqual(paramValue(`${long}y`), value);
    assert.equal(paramValue('short'), 'short');
    assert.equal(paramValue(0.001), '0.001');
    assert.equal(truncateValue('abc', 3), 'abc');
  });
});

describe('mlflow log-batch splitting', () => {
  const kv = (n: number, prefix: string, size = 1) => Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: 'v'.repeat(size) }));

  it('splits 150 params into batches of at most 100, keeping order', () => {
    const batches = splitBatch({ metrics: [], params: kv(150, 'p'), tags: [] });
    assert.deepEqual(
      batches.map((b) => b.params.length),
      [100, 50],
    );
    assert.equal(batches[1].params[0].key, 'p100');
  });

  it('splits 2500 metrics into batches of at most 1000 and 1000 entities', () => {
    const metrics = Array.from({ length: 2500 }, (_, i) => ({ key: 'm', value: i, timestamp: 1, step: i }));
    const batches = splitBatch({ metrics, params: kv(50, 'p'), tags: kv(20, 't') });
    for (const b of batches) {
      assert.ok(b.metrics.length <= 1000 && b.params.length <= 100 && b.tags.length <= 100);
      assert.ok(b.metrics.length + b.params.length + b.tags.length <= 1000);
    }
    assert.deepEqual(
      batches.flatMap((b) => b.metrics).map((m) => m.step),
      metrics.map((m) => m.step),
    );
  });

  it('keeps every batch under 1 MB of JSON', () => {
    const batches = splitBatch({ metrics: [], params: kv(100, 'p', 6000), tags: kv(100, 't', 5000) });
    assert.ok(batches.length >= 2);
    for (const b of batches) assert.ok(Buffer.byteLength(JSON.stringify(b)) < 1_000_000);
    assert.equal(batches.flatMap((b) => b.params).length, 100);
  });
});

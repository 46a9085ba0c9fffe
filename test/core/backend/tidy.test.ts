import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { disposeAll } from '../../../core/backend/tidy';
import { expectNoLeak, restoreBackendAfterSuite } from '../../support/tensors';

describe('disposeAll', () => {
  restoreBackendAfterSuite();

  it('disposes tensors nested in arrays, objects, Maps and Sets, each once', () => {
    const before = tf.memory().numTensors;
    const shared = tf.scalar(1);
    const tree = {
      weights: [tf.zeros([2]), { bias: tf.ones([3]), note: 'text', count: 3 }],
      byName: new Map([
        ['a', tf.scalar(2)],
        ['shared', shared],
      ]),
      set: new Set([shared, tf.scalar(3)]),
      missing: undefined,
    };
    assert.equal(disposeAll(tree, shared, null), 5);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(disposeAll(tree), 0, 'a second call finds nothing left to dispose');
  });

  it('leaves tensors inside class instances alone (they own their tensors)', () => {
    class Holder {
      constructor(readonly t: tf.Tensor) {}
    }
    const holder = new Holder(tf.scalar(1));
    assert.equal(disposeAll(holder), 0);
    assert.equal(holder.t.isDisposed, false);
    holder.t.dispose();
  });
});

describe('expectNoLeak (test helper)', () => {
  it('passes for code that cleans up and fails for code that leaks', async () => {
    await expectNoLeak(() => tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2))));
    const leaked: tf.Tensor[] = [];
    await assert.rejects(
      expectNoLeak(() => {
        leaked.push(tf.scalar(1));
      }, 'leaky code'),
      /leaky code leaked/,
    );
    disposeAll(leaked);
  });
});

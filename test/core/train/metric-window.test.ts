import { strict as assert } from 'node:assert';
import { MetricWindow } from '../../../core/train/metric-window';

describe('core/train/metric-window', () => {
  it('averages each metric over the window and keeps its largest value, until cleared', () => {
    const window = new MetricWindow();
    window.add({ loss: 2, grad_norm: 10 });
    window.add({ loss: 4, grad_norm: 30 });
    assert.deepEqual(window.keys(), ['loss', 'grad_norm']);
    assert.equal(window.mean('loss'), 3);
    assert.equal(window.max('grad_norm'), 30);
    window.clear();
    window.add({ loss: 1, grad_norm: 5 });
    assert.equal(window.mean('loss'), 1);
    assert.equal(window.max('grad_norm'), 5);
  });
});

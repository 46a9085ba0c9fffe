import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { formatDuration, ProgressReporter } from '../../../core/train/progress';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

function logger(lines: string[]) {
  return { debug: () => {}, info: (m: string) => lines.push(m), warn: () => {}, error: () => {} };
}

describe('training progress', () => {
  it('writes plain log lines every report when not on a terminal (or under CI), and no bar', () => {
    const lines: string[] = [];
    const out = new Capture();
    const progress = new ProgressReporter(logger(lines), 10, 8, 0, true, out);
    for (let step = 0; step < 10; step++) {
      progress.tick(0, 1, step);
      if ((step + 1) % 5 === 0) progress.report(0, 1, step, 0.5, 1e-3);
    }
    progress.endLine();
    assert.equal(out.text, '');
    assert.equal(lines.length, 2);
    assert.match(lines[1], /^epoch 1\/1 step 10\/10 loss 0\.5000 lr 1\.00e-3 [\d.]+ samples\/s ETA 0:00:00$/);
  });

  it('redraws one bar in place on a terminal and ends its line once', () => {
    const lines: string[] = [];
    const out = new Capture();
    const progress = new ProgressReporter(logger(lines), 4, 8, 0, false, out);
    progress.tick(0, 2, 0);
    progress.report(0, 2, 1, 0.25, 1e-3);
    progress.tick(0, 2, 3); // the last step always draws
    progress.endLine();
    progress.endLine();
    assert.equal(lines.length, 0, 'figures go into the bar, not the log');
    const frames = out.text.split('\r\x1b[K').filter(Boolean);
    assert.equal(frames.length, 2);
    assert.match(frames[1], /^epoch 1\/2 █{24} 4\/4 loss 0\.2500 .*ETA 0:00:00\n$/);
    assert.equal(out.text.match(/\n/g)?.length, 1);
  });

  it('formats durations as h:mm:ss', () => {
    assert.equal(formatDuration(3725.4), '1:02:05');
    assert.equal(formatDuration(-3), '0:00:00');
  });
});

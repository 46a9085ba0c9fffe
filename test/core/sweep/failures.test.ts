import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SweepState } from '../../../core/sweep/state';
import { shnet } from '../../support/cli';
import { readJson } from '../../support/cli-process';
import { setFlags, tinyShapesOverrides, writeSweepFile } from '../../support/tiny-shapes';

// A learning rate of 1e10 is a valid recipe value (validation cannot know a run will diverge), but the trial's loss
// turns NaN within its first steps: the trial fails after it started, as a real failure does.
const overrides = [...tinyShapesOverrides(1), 'tracker=null'];
const stateOf = (dir: string) => {
  const root = join(dir, 'runs', 'sweeps');
  return readJson<SweepState>(join(root, readdirSync(root)[0], 'sweep-state.json'))!;
};

describe('shnet sweep: failed trials @slow', function () {
  this.timeout(300_000);

  it('retries a failed trial --max-retries times, continues past it, and exits 1 naming it', () => {
    const { dir, file } = writeSweepFile('grid:\n  optimizer.args.lr: [1.0e+10, 0.002]');
    const result = shnet(['sweep', file, '--max-retries', '1', ...setFlags(overrides)], { cwd: dir, timeoutMs: 240_000 });
    assert.equal(result.status, 1, result.stderr);
    const state = stateOf(dir);
    const [failed, done] = Object.values(state.trials);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.attempts, 2);
    assert.match(failed.error!, /training diverged at epoch 1/);
    assert.equal(done.status, 'done');
    assert.equal(done.attempts, 1);
    assert.match(result.stderr, /1 trials failed:\n\s+[0-9a-f]{12}: shnet run exited with 1: shnet: training diverged at epoch 1/);
    const log = readFileSync(join(dir, 'runs', 'sweeps', state.sweepId, 'trials', Object.keys(state.trials)[0], 'trial.log'), 'utf8');
    assert.equal(log.match(/^== /gm)!.length, 2);
  });

  it('--fail-fast stops at the first failure: later trials stay pending', () => {
    const { dir, file } = writeSweepFile('grid:\n  optimizer.args.lr: [1.0e+10, 0.002]');
    const result = shnet(['sweep', file, '--fail-fast', '--max-retries', '3', ...setFlags(overrides)], { cwd: dir, timeoutMs: 240_000 });
    assert.equal(result.status, 1, result.stderr);
    const [failed, never] = Object.values(stateOf(dir).trials);
    assert.deepEqual([failed.status, failed.attempts, never.status, never.attempts], ['failed', 1, 'pending', 1]);
  });
});

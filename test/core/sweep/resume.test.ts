import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SweepState } from '../../../core/sweep/state';
import { readJson, startShnet, waitFor } from '../../support/cli-process';
import { setFlags, tinyShapesOverrides, writeSweepFile } from '../../support/tiny-shapes';

/** Child runs in a local MLflow store, by trial id: [status code from meta.yaml, parent run id]. */
function childRuns(store: string): Array<{ trial: string; status: string; parent: string }> {
  const runs = [];
  for (const experiment of readdirSync(store).filter((e) => /^\d+$/.test(e))) {
    for (const run of readdirSync(join(store, experiment)).filter((r) => /^[0-9a-f]{32}$/.test(r))) {
      const dir = join(store, experiment, run);
      const tag = (key: string) => (readdirSync(join(dir, 'tags')).includes(key) ? readFileSync(join(dir, 'tags', key), 'utf8') : '');
      const status = /status: (\d)/.exec(readFileSync(join(dir, 'meta.yaml'), 'utf8'))![1];
      if (tag('mlflow.parentRunId')) runs.push({ trial: tag('shnet.trial_id'), status, parent: tag('mlflow.parentRunId') });
    }
  }
  return runs;
}

describe('shnet sweep --resume (local executor) @slow', function () {
  this.timeout(600_000);

  it('after an interruption, runs only what remained: done trials skipped, the interrupted one resumed from its checkpoint', async () => {
    const { dir, file } = writeSweepFile('grid:\n  optimizer.args.lr: [0.001, 0.002, 0.003]');
    const args = ['sweep', file, ...setFlags([...tinyShapesOverrides(2), 'tracker={type: mlflow, args: {offline: true}}'])];
    const first = startShnet(args, { cwd: dir });
    let state: SweepState | null = null;
    const statePath = () => join(dir, 'runs', 'sweeps', readdirSync(join(dir, 'runs', 'sweeps'))[0], 'sweep-state.json');
    // Interrupt once the first trial is done and the second has finished an epoch (a checkpoint to resume from).
    await waitFor(
      () => {
        if (first.child.exitCode !== null) throw new Error(`the sweep ended early:\n${first.output()}`);
        try {
          state = readJson<SweepState>(statePath());
        } catch {
          return false;
        }
        const trials = Object.values(state?.trials ?? {});
        const running = trials.find((t) => t.status === 'running');
        return trials.filter((t) => t.status === 'done').length === 1 && !!running && existsSync(join(running.runDir, 'checkpoints', 'last.safetensors'));
      },
      300_000,
      () => `${JSON.stringify(state)}\n${first.output()}`,
    );
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 1, first.output());
    assert.match(first.output(), /interrupted: 1 of 3 trials done; continue with --resume/);
    const interrupted = readJson<SweepState>(statePath())!;
    const done = Object.entries(interrupted.trials).find(([, t]) => t.status === 'done')!;
    const resumed = Object.entries(interrupted.trials).find(([, t]) => t.status === 'running')!;
    const pending = Object.entries(interrupted.trials).find(([, t]) => t.status === 'pending')!;
    const doneEvaluation = statSync(join(done[1].runDir, 'evaluation.json')).mtimeMs;

    const again = startShnet(args, { cwd: dir });
    assert.equal(await again.exited, 2, 'without --resume, a sweep that already ran is refused');
    assert.match(again.output(), /pass --resume/);

    const second = startShnet([...args, '--resume'], { cwd: dir });
    assert.equal(await second.exited, 0, second.output());
    assert.match(second.output(), /1 trials already done, 2 to run/);
    const final = readJson<SweepState>(statePath())!;
    assert.deepEqual(
      Object.values(final.trials).map((t) => t.status),
      ['done', 'done', 'done'],
    );
    assert.equal(statSync(join(done[1].runDir, 'evaluation.json')).mtimeMs, doneEvaluation, 'the done trial did not run again');
    const log = (id: string) => readFileSync(join(dir, 'runs', 'sweeps', final.sweepId, 'trials', id, 'trial.log'), 'utf8');
    assert.equal(log(done[0]).match(/^== /gm)!.length, 1);
    assert.equal(log(pending[0]).match(/^== /gm)!.length, 1);
    const starts = log(resumed[0]).match(/^== .*$/gm)!;
    assert.equal(starts.length, 2);
    assert.match(starts[1], /--resume /, 'the interrupted trial continued from its checkpoint');
    assert.match(log(resumed[0]), /resuming from .*last\.safetensors: 1 epochs and \d+ steps done/);
    assert.equal(final.trials[resumed[0]].attempts, 1, 'continuing an interrupted trial is the same attempt');

    // One child run per trial under the one parent: the resumed trial logged into the run it had started.
    const children = childRuns(join(dir, 'mlruns'));
    assert.equal(children.length, 3, JSON.stringify(children));
    assert.deepEqual(children.map((c) => c.trial).sort(), Object.keys(final.trials).sort());
    assert.ok(
      children.every((c) => c.status === '3' && c.parent === final.parentTag),
      JSON.stringify(children),
    );
  });
});

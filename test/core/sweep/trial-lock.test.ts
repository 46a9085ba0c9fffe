/**
 * A trial runs once (core/sweep/trial-lock.ts): a second request waits for the run going on, a dead holder's lock is
 * taken over, a finished trial is answered from its record without running again.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Trial } from '../../../core/contracts/executor';
import { markTrialDone, TRIAL_LOCK_FILE, TrialLock, trialDone } from '../../../core/sweep/trial-lock';
import { runTrialProcess } from '../../../core/sweep/trial-process';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('trial lock', function () {
  this.timeout(30_000);
  const folder = () => mkdtempSync(join(tmpdir(), 'shnet-trial-lock-'));

  it('holds a trial for one process at a time: a second waits while the holder is alive, then gets it', async () => {
    const dir = folder();
    const first = (await TrialLock.acquire(dir, { staleMs: 300 }))!;
    let waitedFor = '';
    let second: TrialLock | null = null;
    const pending = TrialLock.acquire(dir, { staleMs: 300, onWait: (holder) => (waitedFor = holder) }).then((lock) => (second = lock));
    await sleep(1200); // four times the stale time: the holder's heartbeat keeps it
    assert.equal(second, null, 'a live holder kept the trial');
    assert.match(waitedFor, /:\d+$/);
    first.release();
    await pending;
    assert.ok(second, 'released: the waiting process got it');
    (second as TrialLock).release();
  });

  it('takes over the lock of a holder that stopped touching it (another machine, dead)', async () => {
    const dir = folder();
    writeFileSync(join(dir, TRIAL_LOCK_FILE), 'another-machine:123\n');
    const started = Date.now();
    const lock = await TrialLock.acquire(dir, { staleMs: 400 });
    assert.ok(lock);
    assert.ok(Date.now() - started >= 400, 'it waited for the lock to go stale');
    lock.release();
    assert.ok(!existsSync(join(dir, TRIAL_LOCK_FILE)));
  });

  it('takes over at once the lock of a process of this machine that no longer exists', async () => {
    const dir = folder();
    const dead = 2 ** 22 + 17; // above the usual pid range
    writeFileSync(join(dir, TRIAL_LOCK_FILE), `${require('node:os').hostname()}:${dead}\n`);
    const started = Date.now();
    const lock = await TrialLock.acquire(dir, { staleMs: 60_000 });
    assert.ok(lock && Date.now() - started < 5_000);
    lock.release();
  });

  it('is not taken over while a process it names still runs on this machine, though its holder went silent', async () => {
    const dir = folder();
    // The holder died, but its trial process (here: this test's own process) is still finishing.
    writeFileSync(join(dir, TRIAL_LOCK_FILE), `another-machine:123\n${require('node:os').hostname()}:${process.pid}\n`);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1000);
    assert.equal(await TrialLock.acquire(dir, { staleMs: 200, signal: controller.signal }), null, 'five stale times later, still held');
  });

  it('of several processes taking over a stale lock, one wins; the others get it in turn', async () => {
    const dir = folder();
    writeFileSync(join(dir, TRIAL_LOCK_FILE), 'another-machine:123\n');
    const holders: TrialLock[] = [];
    const takers = Array.from({ length: 4 }, () => TrialLock.acquire(dir, { staleMs: 200 }).then((lock) => holders.push(lock!)));
    for (let i = 0; i < 4; i++) {
      for (const deadline = Date.now() + 5_000; holders.length <= i && Date.now() < deadline;) await sleep(20);
      await sleep(600); // three stale times: nobody else may take a lock that is held and touched
      assert.equal(holders.length, i + 1, `one holder at a time (round ${i})`);
      holders[i].release();
    }
    await Promise.all(takers);
  });

  it('stops waiting when aborted', async () => {
    const dir = folder();
    const held = (await TrialLock.acquire(dir, { staleMs: 300 }))!;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    assert.equal(await TrialLock.acquire(dir, { staleMs: 300, signal: controller.signal }), null);
    held.release();
  });

  it('a finished trial is answered from trial-done.json: no process is started, the log stays untouched', async () => {
    const dir = folder();
    const runDir = join(dir, 'run');
    markTrialDone(runDir, 'run-123');
    assert.equal(trialDone(runDir)?.runId, 'run-123');
    const trial: Trial = {
      id: 'abc',
      recipe: {},
      assignment: {},
      sweepId: 's',
      recipeFile: join(dir, 'missing.yaml'),
      runDir,
      logFile: join(dir, 'trial.log'),
      attempt: 2,
      env: {},
    };
    assert.deepEqual(await runTrialProcess(trial), { id: 'abc', status: 'done', runId: 'run-123' });
    assert.ok(!existsSync(trial.logFile));
  });
});

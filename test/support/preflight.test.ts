import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingRequirements, preflightMessage, type Requirement } from './preflight';
import { REPO_ROOT } from './python-env';

const requirement = (name: string, present: boolean, usedThrough = `${name}-support.js`): Requirement => ({
  name,
  usedThrough: [usedThrough],
  why: `tests use ${name}`,
  present: () => present,
  debian: `${name}-pkg`,
});

describe('test preflight: what the tests need from the machine', () => {
  it('asks only for the tools of the loaded tests, and only for those missing', () => {
    const requirements = [requirement('redis', false), requirement('jq', false), requirement('curl', true)];
    const loaded = (name: string) => name !== 'jq-support.js';
    assert.deepEqual(
      missingRequirements(requirements, loaded).map((r) => r.name),
      ['redis'],
    );
  });

  it('names every missing tool, why, and one install command', () => {
    const message = preflightMessage([requirement('redis', false), requirement('jq', false)]);
    assert.equal(
      message,
      [
        'the tests need 2 tools this machine lacks:',
        '  - redis: tests use redis',
        '  - jq: tests use jq',
        'install them with: sudo apt-get install -y redis-pkg jq-pkg',
        '(on Debian or Ubuntu; .ci/run does this on a fresh machine, and README.md lists what the tests need)',
      ].join('\n'),
    );
  });

  it('stops a mocha run at once when a loaded test needs redis-server and the PATH has none', function () {
    this.timeout(60_000);
    const bin = mkdtempSync(join(tmpdir(), 'shnet-preflight-'));
    try {
      symlinkSync('/bin/sh', join(bin, 'sh'));
      const mocha = join(REPO_ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
      const result = spawnSync(process.execPath, [mocha, join(REPO_ROOT, 'dist', 'test', 'support', 'preflight-fixture.js')], {
        cwd: REPO_ROOT,
        env: { ...process.env, PATH: bin, SHNET_MOCHA_JSON: '' },
        encoding: 'utf8',
        timeout: 50_000,
      });
      const output = `${result.stdout}${result.stderr}`;
      assert.notEqual(result.status, 0, output);
      assert.match(output, /the tests need a tool this machine lacks:\n\s+- redis-server: the BullMQ sweep executor's tests start their own Redis/);
      assert.match(output, /install it with: sudo apt-get install -y redis-server/);
      assert.match(output, /0 passing/, 'the test itself never started');
      assert.doesNotMatch(output, /curl|jq|chromium/, 'nothing the loaded test does not need');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

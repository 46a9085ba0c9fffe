import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../../../core/run/summary';
import { shnet } from '../../support/cli';
import { SHAPES_3SHNET, tinyShapesOverrides } from '../../support/tiny-shapes';

/** Splits a printed command line into words (the summary quotes with single quotes only). */
function words(command: string): string[] {
  return [...command.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replaceAll("'\\''", "'") : m[2]));
}

describe('shnet run: the end-of-run summary on stdout, and the same numbers from the same command @slow', function () {
  this.timeout(300_000);
  let dir: string;
  const flags = () => [...tinyShapesOverrides(), 'data.args.testSize=10', `output=${join(dir, 'runs')}`].flatMap((o) => ['--set', o]);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-run-output-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the summary on stdout and the logs on stderr; --quiet prints neither; --json the summary as data', () => {
    const plain = shnet(['run', SHAPES_3SHNET, ...flags()], { cwd: dir });
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(plain.stdout, /^run folder +.*runs\/shapes-3shnet-/m);
    assert.match(plain.stdout, /^MLflow +experiment shapes \(id \d+\), run [0-9a-f]{32}$/m);
    assert.match(plain.stdout, /^look at it +MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri \.\/mlruns/m);
    assert.match(plain.stdout, /'test': 10 images, 50 captions, protocol all, ties optimistic/);
    assert.match(plain.stdout, /rSum [\d.]+ of 600; chance [\d.]+; no baseline figure recorded for this data/);
    assert.match(plain.stdout, /^next +shnet eval /m);
    assert.doesNotMatch(plain.stdout, /\[shnet\]|epoch 1\/1/, 'no log line on stdout');
    assert.match(plain.stderr, /epoch 1 validation/);
    assert.doesNotMatch(plain.stderr, /^run folder/m);

    const quiet = shnet(['run', SHAPES_3SHNET, ...flags(), '--quiet'], { cwd: dir });
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.equal(quiet.stdout, '');
    assert.doesNotMatch(quiet.stderr, /epoch 1 validation/);
  });

  it('gives the same test metrics when the printed rerun command is run again', () => {
    const first = shnet(['run', SHAPES_3SHNET, ...flags(), '--json'], { cwd: dir });
    assert.equal(first.status, 0, first.stderr);
    const summary = JSON.parse(first.stdout) as RunSummary;
    assert.equal(summary.seedSource, 'recipe');
    assert.equal(summary.test?.rsumMax, 600);
    assert.ok(summary.test!.chance!.rsum > 0);
    const [program, ...args] = words(summary.rerun);
    assert.equal(program, 'shnet');
    const again = shnet([...args, '--json'], { cwd: dir });
    assert.equal(again.status, 0, again.stderr);
    const second = JSON.parse(again.stdout) as RunSummary;
    assert.notEqual(second.runDir, summary.runDir);
    assert.deepEqual(second.test?.metrics, summary.test?.metrics);
  });
});

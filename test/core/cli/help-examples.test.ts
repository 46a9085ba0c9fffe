/**
 * Every example a `--help` shows (an option description's `e.g. …`) is run, so an example cannot be invalid. A new
 * example on an option without a runner here fails the last test until one is added.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createProgram } from '../../../core/cli/main';
import { builtinManifest } from '../../../core/registry/builtin';
import { MlflowTracker, type MlflowTrackerOptions } from '../../../plugins/tracker/mlflow';
import { shnet } from '../../support/cli';
import { REPO_ROOT } from '../../support/python-env';

const DEMO = join(REPO_ROOT, 'recipes', 'shapes', '3shnet.yaml');

interface HelpExample {
  readonly command: string;
  readonly option: string;
  readonly example: string;
}

/** The text after `e.g. ` in a description: a quoted string without its quotes, else the next word. */
function exampleOf(description: string): string | undefined {
  const match = /e\.g\. (?:'([^']*)'|"([^"]*)"|(\S+))/.exec(description);
  return match ? (match[1] ?? match[2] ?? match[3]) : undefined;
}

function helpExamples(command: Command, path: string[] = []): HelpExample[] {
  const here = command.name() === 'shnet' ? path : [...path, command.name()];
  const own = command.options.flatMap((option) => {
    const example = exampleOf(option.description);
    return example === undefined ? [] : [{ command: here.join(' '), option: option.long!, example }];
  });
  return [...own, ...command.commands.flatMap((sub) => helpExamples(sub, here))];
}

describe('the examples of every --help', function () {
  this.timeout(60_000);
  const examples = helpExamples(createProgram([builtinManifest()]));
  let dir = '';
  let store = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-help-'));
    store = join(dir, 'mlruns');
    // One run the --filter example must find: a triplet-loss run with rsum above 400.
    const tracker = new MlflowTracker({ localStore: store, offline: true } as MlflowTrackerOptions);
    const run = await tracker.startRun({ experiment: 'help', runName: 'triplet-run' });
    await run.logParams({ 'loss.type': 'triplet' });
    await run.logMetrics([{ key: 'val/rsum', value: 412.5, step: 1 }]);
    await run.finish('FINISHED');
    await tracker.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** How each option's example is tried, and what it must do. */
  const runners: Record<string, (example: string) => void> = {
    '--set': (example) => {
      const result = shnet(['validate', DEMO, '--set', example]);
      assert.equal(result.status, 0, `--set ${example}: ${result.stderr}`);
    },
    '--data': (example) => {
      const result = shnet(['validate', DEMO, '--set', `data=${example}`]);
      assert.equal(result.status, 0, `--data ${example}: ${result.stderr}`);
    },
    '--filter': (example) => {
      const result = shnet(['compare', '--experiment', 'help', '--store', store, '--filter', example]);
      assert.equal(result.status, 0, `--filter ${example}: ${result.stderr}`);
      assert.match(result.stdout, /triplet-run/, `--filter ${example} finds the run it describes`);
    },
  };

  it('finds the examples (--set on every recipe command)', () => {
    for (const command of ['run', 'validate', 'eval', 'encode', 'sweep']) {
      assert.ok(
        examples.some((e) => e.command === command && e.option === '--set'),
        `${command} --help has a --set example`,
      );
    }
  });

  it('every example runs as shown', () => {
    const tried = new Set<string>();
    for (const { command, option, example } of examples) {
      const key = `${option} ${example}`;
      if (tried.has(key)) continue;
      tried.add(key);
      const runner = runners[option];
      assert.ok(runner, `shnet ${command} --help shows an example for ${option} ('${example}') that no test runs: add a runner here`);
      runner(example);
    }
  });
});

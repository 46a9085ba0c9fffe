import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PLUGIN_KINDS } from '../../../core/kinds';
import { hasStackTrace, shnet } from '../../support/cli';
import { REPO_ROOT } from '../../support/python-env';

const DEMO = join(REPO_ROOT, 'recipes', 'shapes', '3shnet.yaml');

describe('shnet CLI (child process)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-cli-'));
  });

  it('prints help for the program and every command, exit 0', () => {
    const top = shnet(['--help']);
    assert.equal(top.status, 0);
    for (const command of ['run', 'validate', 'plugins', 'schema']) {
      assert.match(top.stdout, new RegExp(`^\\s+${command}\\b`, 'm'));
      const help = shnet([command, '--help']);
      assert.equal(help.status, 0, `${command} --help`);
      assert.match(help.stdout, new RegExp(`Usage: shnet ${command}`));
    }
  });

  it('validates a shipped recipe, exit 0', () => {
    const result = shnet(['validate', DEMO]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /valid \(sha256 [0-9a-f]{12}\)/);
  });

  it('reports three mistakes as three located errors, exit 2, no stack trace', () => {
    const recipe = join(dir, 'three-mistakes.yaml');
    writeFileSync(
      recipe,
      [`extends: ${DEMO}`, 'loss:', '  args: {margin: wide}', 'model:', '  image:', '    aggregator: {type: gop}', 'train: {batchSise: 8}'].join('\n'),
    );
    const result = shnet(['validate', recipe], { cwd: dir });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /recipe has 3 problems/);
    assert.match(result.stderr, /three-mistakes\.yaml:3: loss\.args\.margin: must be number \[loss\/triplet\]/);
    assert.match(result.stderr, /three-mistakes\.yaml:6: model\.image\.aggregator\.type: unknown aggregator 'gop'; did you mean 'gpo'\?/);
    assert.match(
      result.stderr,
      /three-mistakes\.yaml:7: train\.batchSise: must NOT have additional properties|three-mistakes\.yaml:7: train\.batchSise: unknown option; did you mean 'batchSize'\?/,
    );
    assert.equal(hasStackTrace(result.stderr), false, result.stderr);
  });

  it('bad input exits 2 without a stack trace: missing file, unknown command, unknown option, bad --set', () => {
    for (const args of [
      ['validate', join(dir, 'nowhere.yaml')],
      ['frobnicate'],
      ['validate', DEMO, '--bogus'],
      ['validate', DEMO, '--set', 'nonsense'],
      ['plugins', 'highlights'],
    ]) {
      const result = shnet(args);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(hasStackTrace(result.stderr), false, result.stderr);
    }
    assert.match(shnet(['plugins', 'highlights']).stderr, /did you mean 'highlight'\?/);
  });

  it('shows a YAML error of a --set value whole: the sentence and the value with a caret under the fault', () => {
    const result = shnet(['validate', DEMO, '--set', 'train.epochs=[1']);
    assert.equal(result.status, 2);
    assert.equal(
      result.stderr,
      [
        'shnet: recipe has 1 problem:',
        '  --set:1: train.epochs: value is not valid YAML: Flow sequence must end with a ] at line 1, column 3',
        '      [1',
        '        ^',
        '',
      ].join('\n'),
    );
  });

  it('lists every plugin kind, and one kind with its options', () => {
    const all = shnet(['plugins']);
    assert.equal(all.status, 0);
    for (const kind of PLUGIN_KINDS) assert.match(all.stdout, new RegExp(`^${kind}`, 'm'));
    const highlight = shnet(['plugins', 'highlight']);
    assert.match(highlight.stdout, /^\s+semantic\s/m);
    assert.match(highlight.stdout, /^\s+spatial\s/m);
    assert.match(highlight.stdout, /lambda: number = 4/);
    const json = JSON.parse(shnet(['plugins', '--json']).stdout) as Array<{ kind: string; name: string }>;
    assert.ok(json.some((p) => p.kind === 'image-encoder' && p.name === '3shnet'));
  });

  it('prints the resolved recipe with --dry-run, overrides applied, and builds nothing', () => {
    const result = shnet(['run', DEMO, '--dry-run', '--set', 'loss.args.margin=0.35', '--set', 'train.epochs=3']);
    assert.equal(result.status, 0, result.stderr);
    const [hashLine] = result.stdout.split('\n');
    assert.match(hashLine, /^# sha256 [0-9a-f]{64}$/);
    const resolved = parse(result.stdout) as { loss: { args: { margin: number } }; train: { epochs: number } };
    assert.equal(resolved.loss.args.margin, 0.35);
    assert.equal(resolved.train.epochs, 3);
  });

  it('checks a --resume folder before anything else, with one clear line: missing, a file, no checkpoint; dry runs too', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const empty = mkdtempSync(join(dir, 'run-'));
    const cases: Array<[string[], RegExp]> = [
      [['run', DEMO, '--resume', join(dir, 'does-not-exist')], /^shnet: cannot resume .*does-not-exist: no such run folder$/],
      [['run', DEMO, '--dry-run', '--resume', join(dir, 'does-not-exist')], /^shnet: cannot resume .*does-not-exist: no such run folder$/],
      [['run', DEMO, '--resume', file], /^shnet: cannot resume .*a-file: it is a file, not a run folder$/],
      [['run', DEMO, '--resume', empty], /^shnet: cannot resume .*: it has no checkpoints\/last\.safetensors \(no epoch finished\)$/],
    ];
    for (const [args, message] of cases) {
      const result = shnet(args);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr.trim(), message);
      assert.equal(result.stdout, '', 'nothing printed, nothing built');
    }
  });
});

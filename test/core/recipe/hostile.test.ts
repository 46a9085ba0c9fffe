/**
 * Recipes written to break the loader: bombs, odd files, prototype keys, values that are not values. Every case must
 * end in located problems (or a valid recipe), quickly, and leave the process unharmed.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatProblem, RecipeError } from '../../../core/recipe/errors';
import { loadRecipe } from '../../../core/recipe/load';
import { getPath, validateRecipe } from '../../../core/recipe/validate';
import { PluginRegistry } from '../../../core/registry/registry';
import { toyManifest } from '../fixtures/toy-plugins';

const BASE = `name: base
data: {type: shapes}
model:
  image:
    type: 3shnet
    args: {embedDim: 64}
    aggregator: {type: gpo}
  text: {type: bigru}
loss: {type: triplet}
optimizer: {type: adamw}
`;

/** `levels` vars each referring twice to the one before: the text doubles at every level. */
function referenceBomb(levels: number): string {
  const lines = ['extends: base.yaml', 'vars:', '  v0: ab'];
  for (let i = 1; i <= levels; i++) lines.push(`  v${i}: '\${vars.v${i - 1}}\${vars.v${i - 1}}'`);
  return `${lines.join('\n')}\ndescription: \${vars.v${levels}}\n`;
}

/** The "billion laughs": nine levels of anchors, each listing the previous one ten times. */
function aliasBomb(): string {
  let text = 'extends: base.yaml\nvars:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n';
  let previous = 'a';
  for (const name of 'bcdefghi') {
    text += `  ${name}: &${name} [${Array(10).fill(`*${previous}`).join(', ')}]\n`;
    previous = name;
  }
  return text;
}

interface Case {
  name: string;
  files: Record<string, string>;
  overrides?: string[];
  /** Set up what a file cannot be (a FIFO); gets the case's folder. */
  prepare?: (dir: string) => void;
  expect?: (resolved: Record<string, unknown>) => void;
  problems?: RegExp[];
}

const CASES: Case[] = [
  {
    name: 'references that double at every level stop at the expansion budget, located (40 levels used to hang)',
    files: { 'base.yaml': BASE, 'r.yaml': referenceBomb(40) },
    problems: [/^r\.yaml:\d+: vars\.v\d+: \$\{…\} references expand to more than 1,000,000 characters/],
  },
  {
    name: 'a reference used many times is resolved once (20 levels of doubling stay within the budget)',
    files: { 'base.yaml': BASE, 'r.yaml': referenceBomb(16) },
    expect: (r) => assert.equal((r.description as string).length, 2 * 2 ** 16),
  },
  {
    name: 'extends: /dev/zero is refused as a device, where it is named',
    files: { 'r.yaml': 'name: x\nextends: /dev/zero\n' },
    problems: [/^r\.yaml:2: extends: \/dev\/zero is not a recipe file \(it is a device\)$/],
  },
  {
    name: 'extends of a FIFO is refused without opening it',
    files: { 'r.yaml': 'extends: ./pipe\n' },
    prepare: (dir) => execFileSync('mkfifo', [join(dir, 'pipe')]),
    problems: [/^r\.yaml:1: extends: pipe is not a recipe file \(it is a named pipe\)$/],
  },
  {
    name: 'extends of a directory, and an empty extends entry, are located problems',
    files: { 'sub/keep.yaml': 'name: x\n', 'r.yaml': 'extends: [sub, "", base.yaml]\n' },
    problems: [/^r\.yaml:1: extends\.1: extends entries must be file paths$/],
  },
  {
    name: 'extends of a directory names it',
    files: { 'sub/keep.yaml': 'name: x\n', 'r.yaml': 'extends: sub\n' },
    problems: [/^r\.yaml:1: extends: sub is not a recipe file \(it is a directory\)$/],
  },
  {
    name: 'a YAML alias bomb is refused and located at the first alias',
    files: { 'base.yaml': BASE, 'r.yaml': aliasBomb() },
    problems: [/^r\.yaml:4: invalid YAML: aliases expand to more than 100 copies/],
  },
  {
    name: 'flow collections nested thousands deep are refused before the parser recurses',
    files: { 'r.yaml': `vars: {x: ${'['.repeat(20_000)}${']'.repeat(20_000)}}\n` },
    problems: [/^r\.yaml:1: invalid YAML: \[ and \{ nest more than 64 levels deep$/],
  },
  {
    name: 'an alias inside the collection it names (a value containing itself) is refused, located',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nvars:\n  loop: &loop [1, *loop]\n' },
    overrides: [],
    problems: [/^r\.yaml:3: invalid YAML: the alias \*loop is inside the collection it names/],
  },
  {
    name: 'a self-referencing alias in an override is refused too (it used to overflow the stack, exit 1)',
    files: { 'base.yaml': BASE },
    overrides: ['vars.x=&a [*a]'],
    problems: [/^--set:1: vars\.x: invalid YAML: the alias \*a is inside the collection it names/],
  },
  {
    name: 'a list or a mapping as a key is refused',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\n? [a, b]\n: 1\n' },
    problems: [/^r\.yaml:2: invalid YAML: a key must be a plain name/],
  },
  {
    name: '100,000 keys under vars load (merging and duplicate-key checks are linear)',
    files: { 'base.yaml': BASE, 'r.yaml': `extends: base.yaml\nvars:\n${Array.from({ length: 100_000 }, (_, i) => `  k${i}: ${i}\n`).join('')}` },
    expect: (r) => assert.equal(Object.keys(r.vars as object).length, 100_000),
  },
  {
    name: '--set __proto__.x=1 is refused and pollutes nothing',
    files: { 'base.yaml': BASE },
    overrides: ['__proto__.polluted=1', 'vars.__proto__=1', 'vars.a={__proto__: {polluted: 1}}'],
    problems: [
      /^--set:1: __proto__\.polluted: '__proto__' cannot be a key/,
      /^--set:2: vars\.__proto__: '__proto__' cannot be a key/,
      /^--set:3: vars\.a\.__proto__: '__proto__' cannot be a key/,
    ],
  },
  {
    name: 'a __proto__ key in a file is refused at its line',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nvars:\n  __proto__: {polluted: 1}\n' },
    problems: [/^r\.yaml:3: vars\.__proto__: '__proto__' cannot be a key/],
  },
  {
    name: "${vars.constructor} does not walk JavaScript's prototype",
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\ndescription: ${vars.constructor}\nname: ${toString}\n' },
    problems: [/^r\.yaml:2: description: \$\{vars\.constructor\} refers to a key that does not exist$/, /^r\.yaml:3: name: \$\{toString\} refers to a key/],
  },
  {
    name: 'non-finite numbers are refused wherever they are, once each',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nvars: {big: 1e400}\nloss: {args: {margin: .nan}}\n' },
    overrides: ['model.image.args.embedDim=.inf'],
    problems: [
      /^--set:1: model\.image\.args\.embedDim: must be a finite number, got Infinity$/,
      /^r\.yaml:2: vars\.big: must be a finite number, got Infinity$/,
      /^r\.yaml:3: loss\.args\.margin: must be a finite number, got NaN$/,
    ],
  },
  {
    name: 'an integer too large to be exact is refused',
    files: { 'base.yaml': BASE },
    overrides: ['model.image.args.embedDim=1e20'],
    problems: [/^--set:1: model\.image\.args\.embedDim: 100000000000000000000 is too large to be exact/],
  },
  {
    name: 'unknown YAML tags are refused, not read as strings',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\ndescription: !!js/function "function () {}"\nname: !foo bar\n' },
    problems: [/^r\.yaml:2: unknown YAML tag !!js\/function/, /^r\.yaml:3: unknown YAML tag !foo/],
  },
  {
    name: 'an unknown tag in an override is refused too',
    files: { 'base.yaml': BASE },
    overrides: ['description=!!binary aGVsbG8='],
    problems: [/^--set:1: description: unknown YAML tag !!binary/],
  },
  {
    name: 'a run name that would leave the output folder is refused',
    files: { 'base.yaml': BASE },
    overrides: ['name=../../etc/evil'],
    problems: [/^--set:1: name: must be a plain name \(no '\/', '\\' or NUL, not '\.' or '\.\.'\): it names a folder$/],
  },
  {
    name: '".." as a name is refused as well',
    files: { 'base.yaml': BASE },
    overrides: ['name=..'],
    problems: [/^--set:1: name: must be a plain name/],
  },
  {
    name: "--set on a slot's default node refines the default (tracker.args.x on a recipe without tracker)",
    files: { 'base.yaml': BASE },
    overrides: ['tracker.args.experiment=elsewhere', 'evaluator.args.protocol=coco-1k'],
    expect: (r) => {
      assert.deepEqual(r.tracker, { type: 'mlflow', args: { experiment: 'elsewhere' } });
      assert.deepEqual(r.evaluator, { type: 'retrieval', args: { protocol: 'coco-1k' } });
    },
  },
  {
    name: '!secret marks a value; it is kept as given in the recipe',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nvars:\n  token: !secret hf_abcdef\n' },
    overrides: ['vars.db=!secret postgres://alice:pw@db/x'],
    expect: (r) => {
      assert.equal(getPath(r, 'vars.token'), 'hf_abcdef');
      assert.equal(getPath(r, 'vars.db'), 'postgres://alice:pw@db/x');
    },
  },
  {
    name: '!secret on a mapping is refused (it marks one value)',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nvars:\n  creds: !secret {user: a}\n' },
    problems: [/^r\.yaml:3: unknown YAML tag !secret|^r\.yaml:3: vars\.creds: !secret marks one value/],
  },
];

describe('hostile recipes', function () {
  this.timeout(30_000);
  const registry = new PluginRegistry();
  registry.addManifest(toyManifest);
  const cwd = process.cwd();
  afterEach(() => process.chdir(cwd));

  for (const testCase of CASES) {
    it(testCase.name, () => {
      const dir = mkdtempSync(join(tmpdir(), 'shnet-hostile-'));
      for (const [name, text] of Object.entries(testCase.files)) {
        mkdirSync(dirname(join(dir, name)), { recursive: true });
        writeFileSync(join(dir, name), text);
      }
      testCase.prepare?.(dir);
      process.chdir(dir);
      const entry = Object.keys(testCase.files).pop()!;
      let problems: string[] = [];
      let resolved: Record<string, unknown> | undefined;
      try {
        const result = validateRecipe(loadRecipe(entry, testCase.overrides ?? []), registry);
        problems = result.problems.map(formatProblem);
        resolved = result.resolved;
      } catch (error) {
        if (!(error instanceof RecipeError)) throw error;
        problems = error.problems.map(formatProblem);
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype was polluted');
      if (testCase.problems) {
        assert.equal(problems.length, testCase.problems.length, `problems:\n${problems.join('\n')}`);
        testCase.problems.forEach((pattern, i) => assert.match(problems[i], pattern));
      } else {
        assert.deepEqual(problems, []);
        testCase.expect?.(resolved!);
      }
    });
  }
});

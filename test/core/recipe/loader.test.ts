import { strict as assert } from 'node:assert';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatProblem, RecipeError } from '../../../core/recipe/errors';
import { loadRecipe } from '../../../core/recipe/load';
import { validateRecipe, getPath } from '../../../core/recipe/validate';
import { recipeHash } from '../../../core/recipe/resolve';
import { PluginRegistry } from '../../../core/registry/registry';
import { toyManifest } from '../fixtures/toy-plugins';

/** A complete recipe over the toy plugins; cases extend or edit it. */
const BASE = `name: base
seed: 7
data:
  type: shapes
  args: {images: 50}
model:
  image:
    type: 3shnet
    args:
      embedDim: 64
    aggregator: {type: gpo, args: {temperature: 0.5}}
    highlight:
      semantic: {type: semantic, args: {lambda: 2}}
      spatial: {type: spatial}
  text:
    type: bigru
    args: {hidden: 64}
loss: {type: triplet, args: {margin: 0.2}}
optimizer: {type: adamw}
`;

interface Case {
  name: string;
  files: Record<string, string>;
  overrides?: string[];
  /** Checks on the merged and validated recipe. */
  expect?: (resolved: Record<string, unknown>) => void;
  /** Every problem, formatted `file:line: path: message [plugin]`, must match one regex, in order. */
  problems?: RegExp[];
}

const CASES: Case[] = [
  {
    name: 'a complete recipe validates and gets defaults filled in',
    files: { 'r.yaml': BASE },
    expect: (r) => {
      assert.equal(getPath(r, 'model.image.aggregator.args.width'), 32);
      assert.equal(getPath(r, 'loss.args.warmupEpochs'), 1);
      assert.equal(getPath(r, 'train.batchSize'), 128);
      assert.equal(r.backend, 'auto');
      assert.deepEqual(r.tracker, { type: 'mlflow', args: {} }, 'an absent optional slot gets its default node');
      assert.deepEqual(getPath(r, 'evaluator.args'), { protocol: 'coco-5k' });
    },
  },
  {
    name: 'extends chain: child overrides base, base overrides grandparent',
    files: {
      'base.yaml': BASE,
      'mid.yaml': 'extends: base.yaml\nloss: {args: {margin: 0.3}}\n',
      'sub/child.yaml': 'extends: ../mid.yaml\nmodel: {image: {args: {embedDim: 32}}}\n',
    },
    expect: (r) => {
      assert.equal(getPath(r, 'loss.args.margin'), 0.3);
      assert.equal(getPath(r, 'model.image.args.embedDim'), 32);
      assert.equal(getPath(r, 'model.image.aggregator.args.temperature'), 0.5);
    },
  },
  {
    name: 'several extends merge in order',
    files: {
      'base.yaml': BASE,
      'a.yaml': 'loss: {args: {margin: 0.4}}\n',
      'b.yaml': 'loss: {args: {margin: 0.5}}\n',
      'r.yaml': 'extends: [base.yaml, a.yaml, b.yaml]\n',
    },
    expect: (r) => assert.equal(getPath(r, 'loss.args.margin'), 0.5),
  },
  {
    name: 'changing type drops the old args',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nloss: {type: infonce}\n' },
    expect: (r) => assert.deepEqual(getPath(r, 'loss.args'), { temperature: 0.07 }),
  },
  {
    name: 'changing type with new args keeps only the new args',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nloss: {type: infonce, args: {temperature: 0.1}}\n' },
    expect: (r) => assert.deepEqual(getPath(r, 'loss.args'), { temperature: 0.1 }),
  },
  {
    name: 'changing type with merge: true keeps the old args (and they are then validated against the new plugin)',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nloss: {type: infonce, merge: true}\n' },
    problems: [/^r\.yaml:1|base\.yaml:\d+: loss\.args\.margin: unknown option \(options: temperature\) \[loss\/infonce\]$/],
  },
  {
    name: 'same type merges args key by key',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nloss: {type: triplet, args: {warmupEpochs: 0}}\n' },
    expect: (r) => assert.deepEqual(getPath(r, 'loss.args'), { margin: 0.2, warmupEpochs: 0 }),
  },
  {
    name: 'null switches an optional slot off',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nmodel: {image: {highlight: {spatial: null}}}\n' },
    expect: (r) => assert.equal(getPath(r, 'model.image.highlight.spatial'), null),
  },
  {
    name: 'overrides are typed (numbers, booleans, lists, quoted strings) and win over files',
    files: { 'r.yaml': BASE },
    overrides: ['model.text.args.hidden=512', 'model.image.args.categoryToken=false', 'loss.args.margin=0.25', "name='123'"],
    expect: (r) => {
      assert.equal(getPath(r, 'model.text.args.hidden'), 512);
      assert.equal(getPath(r, 'model.image.args.categoryToken'), false);
      assert.equal(getPath(r, 'loss.args.margin'), 0.25);
      assert.equal(r.name, '123');
    },
  },
  {
    name: 'an override that changes type drops the old args too',
    files: { 'r.yaml': BASE },
    overrides: ['model.text.type=bert'],
    expect: (r) => assert.deepEqual(getPath(r, 'model.text.args'), { layers: 12 }),
  },
  {
    name: '${…} references take the referenced value with its type, after overrides',
    files: {
      'base.yaml': BASE,
      'r.yaml':
        'extends: base.yaml\nvars: {d: 64}\nmodel:\n  image:\n    args:\n      embedDim: ${vars.d}\n  text:\n    args:\n      hidden: ${vars.d}\nname: run-d${vars.d}\n',
    },
    overrides: ['vars.d=128'],
    expect: (r) => {
      assert.equal(getPath(r, 'model.image.args.embedDim'), 128);
      assert.equal(getPath(r, 'model.text.args.hidden'), 128);
      assert.equal(r.name, 'run-d128');
    },
  },
  {
    name: 'an unknown reference and a reference cycle are located errors',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nvars:\n  a: ${vars.b}\n  b: ${vars.a}\nloss:\n  args:\n    margin: ${vars.nowhere}\n' },
    problems: [
      /^r\.yaml:4: vars\.b: \$\{vars\.a\} is part of a reference cycle \(vars\.a -> vars\.b -> vars\.a\)$/,
      /^r\.yaml:7: loss\.args\.margin: \$\{vars\.nowhere\} refers to a key that does not exist$/,
    ],
  },
  {
    name: 'an extends cycle is reported with its chain',
    files: { 'a.yaml': 'extends: b.yaml\n', 'b.yaml': 'extends: c.yaml\n', 'c.yaml': 'extends: a.yaml\n' },
    problems: [/^b\.yaml:1: extends: extends cycle: c\.yaml -> a\.yaml -> b\.yaml -> c\.yaml$/],
  },
  {
    name: 'a missing base file is reported where it is named',
    files: { 'a.yaml': 'extends: nowhere.yaml\n' },
    problems: [/^a\.yaml:1: extends: recipe file not found: nowhere\.yaml$/],
  },
  {
    name: 'invalid YAML is located at its line',
    files: { 'a.yaml': 'name: x\nloss: {type: triplet\nseed: 1\n' },
    problems: [/^a\.yaml:\d: invalid YAML/],
  },
  {
    name: 'a duplicate key is a located YAML error',
    files: { 'a.yaml': 'name: x\nname: y\n' },
    problems: [/^a\.yaml:2: name: duplicate key \(first set on line 1\)$/],
  },
  {
    name: 'three mistakes give three located errors, each with its key path and plugin',
    files: {
      'base.yaml': BASE,
      'r.yaml': [
        'extends: base.yaml',
        'loss:',
        '  args:',
        '    margin: big', // line 4: wrong type
        'model:',
        '  image:',
        '    aggregator: {type: gop}', // line 7: unknown plugin
        '    highlight:',
        '      semantic: {args: {lamda: 3}}', // line 9: unknown option
      ].join('\n'),
    },
    problems: [
      /^r\.yaml:4: loss\.args\.margin: must be number \[loss\/triplet\]$/,
      /^r\.yaml:7: model\.image\.aggregator\.type: unknown aggregator 'gop'; did you mean 'gpo'\?/,
      /^r\.yaml:9: model\.image\.highlight\.semantic\.args\.lamda: unknown option; did you mean 'lambda'\? \(options: lambda, mode\) \[highlight\/semantic\]$/,
    ],
  },
  {
    name: 'an enum option lists its allowed values',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nmodel: {image: {highlight: {semantic: {args: {mode: tanh}}}}}\n' },
    problems: [/^r\.yaml:2: model\.image\.highlight\.semantic\.args\.mode: must be one of: sigmoid, softmax \[highlight\/semantic\]$/],
  },
  {
    name: 'a missing required slot and an unknown top-level key are both reported',
    files: { 'r.yaml': BASE.replace(/^optimizer:.*$/m, 'optimiser: {type: adamw}') },
    problems: [/^r\.yaml:1: optimizer: missing optimizer node/, /^r\.yaml:\d+: optimiser: unknown key; did you mean 'optimizer'\?/],
  },
  {
    name: 'a required slot cannot be null, an unknown slot key is named',
    files: { 'base.yaml': BASE, 'r.yaml': 'extends: base.yaml\nmodel:\n  image:\n    aggregator: null\n    highlights: {}\n' },
    problems: [
      /^r\.yaml:4: model\.image\.aggregator: this aggregator cannot be switched off \(null\) \[image-encoder\/3shnet\]$/,
      /^r\.yaml:5: model\.image\.highlights: unknown key; did you mean 'highlight'\?/,
    ],
  },
  {
    name: 'errors in overrides point at the --set that caused them',
    files: { 'r.yaml': BASE },
    overrides: ['seed=1', 'train.batchSize=huge'],
    problems: [/^--set:2: train\.batchSize: must be integer$/],
  },
  {
    name: 'a malformed override is reported',
    files: { 'r.yaml': BASE },
    overrides: ['nonsense'],
    problems: [/^--set:1: expected KEY\.PATH=VALUE, got 'nonsense'$/],
  },
  {
    name: 'a node without type lists the choices',
    files: { 'r.yaml': BASE.replace('loss: {type: triplet, args: {margin: 0.2}}', 'loss: {args: {margin: 0.2}}') },
    problems: [/^r\.yaml:\d+: loss: missing 'type' for this loss \(one of: infonce, triplet\)$/],
  },
];

describe('recipe loader and validator', () => {
  const registry = new PluginRegistry();
  registry.addManifest(toyManifest);
  const cwd = process.cwd();
  afterEach(() => process.chdir(cwd));

  for (const testCase of CASES) {
    it(testCase.name, () => {
      const dir = mkdtempSync(join(tmpdir(), 'shnet-recipe-'));
      for (const [name, text] of Object.entries(testCase.files)) {
        mkdirSync(dirname(join(dir, name)), { recursive: true });
        writeFileSync(join(dir, name), text);
      }
      process.chdir(dir); // so file names in messages are short and stable
      const entry = Object.keys(testCase.files).pop()!;
      let problems: string[] = [];
      let resolved: Record<string, unknown> | undefined;
      try {
        const loaded = loadRecipe(entry, testCase.overrides ?? []);
        const result = validateRecipe(loaded, registry);
        problems = result.problems.map(formatProblem);
        resolved = result.resolved;
      } catch (error) {
        if (!(error instanceof RecipeError)) throw error;
        problems = error.problems.map(formatProblem);
      }
      if (testCase.problems) {
        assert.equal(problems.length, testCase.problems.length, `problems:\n${problems.join('\n')}`);
        testCase.problems.forEach((pattern, i) => assert.match(problems[i], pattern));
      } else {
        assert.deepEqual(problems, []);
        testCase.expect?.(resolved!);
      }
    });
  }

  it('hashes the same resolved recipe identically, and a changed one differently', () => {
    const a = recipeHash({ b: 1, a: { y: 2, x: [1, 2] } });
    assert.equal(a, recipeHash({ a: { x: [1, 2], y: 2 }, b: 1 }));
    assert.notEqual(a, recipeHash({ a: { x: [2, 1], y: 2 }, b: 1 }));
  });
});

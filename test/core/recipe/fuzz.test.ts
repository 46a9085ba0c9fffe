/**
 * The shipped recipes, mutated as a careless or hostile user would — keys deleted, values of the wrong type,
 * non-finite numbers, YAML tags and aliases, reference bombs, prototype keys, odd paths, random bytes — and given to
 * `shnet validate` and `shnet run --dry-run` in this process. For every case: exit 0, or exit 2 with located problems;
 * no stack trace; an answer within a few seconds; no file written; `Object.prototype` untouched.
 *
 * Seeded (SHNET_FUZZ_SEED, default below) and bounded in time (SHNET_FUZZ_SECONDS): the cases are the same sequence on
 * every machine, and a slow machine runs fewer of them. A failure prints the seed, the case number and the recipe.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, stringify, type Document } from 'yaml';
import { main } from '../../../core/cli/main';
import { hasStackTrace } from '../../support/cli';
import { REPO_ROOT } from '../../support/python-env';

const SEED = Number(process.env.SHNET_FUZZ_SEED ?? 20261204);
const BUDGET_MS = 1000 * Number(process.env.SHNET_FUZZ_SECONDS ?? 45);
/** Longest answer a case may take: validation reads small files and bounded expansions, so seconds mean a hang. */
const CASE_LIMIT_MS = 5_000;

/** mulberry32: a small seeded generator, so a case number names one recipe on every machine. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  /** The recipe file's text (written beside the recipe it mutates, so its relative `extends` resolve). */
  text: string;
  overrides: string[];
  what: string[];
}

/** Recipes a user runs (sweep files are the sweep's input, checked by test/core/sweep). */
function shippedRecipes(root: string): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return lstatSync(path).isDirectory() ? walk(path) : path.endsWith('.yaml') && !/^sweep:/m.test(readFileSync(path, 'utf8')) ? [path] : [];
    });
  return walk(root).sort();
}

const WRONG_VALUES: unknown[] = ['nope', '', -1, 0, 3.5, true, null, [], [1, 'x'], {}, { type: 'gpo' }, 'x'.repeat(5000), -0, 2 ** 53 + 2];
const NUMBERS = ['.inf', '-.inf', '.nan', '1e400', '-1e400', '1e20', '0x7fffffff', '1e-400'];
const TAGS = [
  '!!js/function "function () { return 1 }"',
  '!foo bar',
  '!!binary aGVsbG8=',
  '!!set {a, b}',
  '!!timestamp 2001-12-14',
  '!secret {a: 1}',
  '!!python/object:os.system ls',
];
const PATHS = [
  '/dev/zero',
  '/dev/null',
  '/proc/self/environ',
  '/',
  '.',
  '..',
  '',
  './fifo',
  './no-such.yaml',
  '../'.repeat(40) + 'etc/passwd',
  'x'.repeat(5000),
  'dir/',
];
const KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '__defineGetter__',
  'type',
  'args',
  'merge',
  'extends',
  'plugins',
  'sweep',
];
const REFERENCES = [
  '${vars.constructor}',
  '${__proto__}',
  '${vars.__proto__.polluted}',
  '${toString}',
  '${vars}',
  '${model.image}',
  '${nope.nope}',
  '${vars.embedDim}${vars.embedDim}',
  '${',
  '${}',
  '$${vars.embedDim}',
];

/** Every key path of a parsed document's mappings (with the node that holds it). */
function keyPaths(document: Document): Array<{ path: (string | number)[] }> {
  const out: Array<{ path: (string | number)[] }> = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        out.push({ path: [...path, key] });
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
  };
  walk(document.contents, []);
  return out;
}

/** One mutated case of `text`: one to three mutations, drawn from `random`. */
function mutate(text: string, random: () => number): Case {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const document = parseDocument(text);
  const overrides: string[] = [];
  const what: string[] = [];
  let raw: string | null = null;
  const paths = () => keyPaths(document);
  const mutations: Array<() => void> = [
    () => {
      const { path } = pick(paths());
      document.deleteIn(path);
      what.push(`delete ${path.join('.')}`);
    },
    () => {
      const { path } = pick(paths());
      const value = pick(WRONG_VALUES);
      document.setIn(path, document.createNode(value));
      what.push(`${path.join('.')} = ${JSON.stringify(value)?.slice(0, 40)}`);
    },
    () => {
      const { path } = pick(paths());
      const value = pick(NUMBERS);
      overrides.push(`${path.join('.')}=${value}`);
      what.push(`--set ${path.join('.')}=${value}`);
    },
    () => {
      const { path } = pick(paths());
      const tagged = pick(TAGS);
      raw = `${stringify(document.toJS())}\n${path[0]}: ${tagged}\n`;
      what.push(`${path[0]}: ${tagged}`);
    },
    () => {
      const levels = 10 + Math.floor(random() * 40);
      const vars = [`  r0: ab`, ...Array.from({ length: levels }, (_, i) => `  r${i + 1}: '\${vars.r${i}}\${vars.r${i}}'`)];
      raw = `${stringify(document.toJS())}\nvars:\n${vars.join('\n')}\ndescription: \${vars.r${levels}}\n`.replace(
        /^vars:\n(?=[\s\S]*^vars:)/m,
        'unused_vars:\n',
      );
      what.push(`reference bomb of ${levels} levels`);
    },
    () => {
      const count = 5 + Math.floor(random() * 10);
      let bomb = 'vars:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
      for (let i = 1; i < count; i++)
        bomb += `  a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]\n`;
      raw = `${text}\n${bomb.replace('vars:', 'alias_bomb:')}`;
      what.push(`alias bomb of ${count} levels`);
    },
    () => {
      const { path } = pick(paths());
      const key = pick(KEYS);
      const parent = path.slice(0, -1);
      if (random() < 0.5) overrides.push(`${[...parent, key].join('.') || key}=${pick(['1', '{polluted: 1}', 'null'])}`);
      else raw = `${stringify(document.toJS())}\n${key}: {polluted: 1}\n`;
      what.push(`key ${key} under ${parent.join('.') || '(root)'}`);
    },
    () => {
      const { path } = pick(paths());
      const reference = pick(REFERENCES);
      document.setIn(path, reference);
      what.push(`${path.join('.')} = ${reference}`);
    },
    () => {
      const where = pick(['extends', 'plugins', 'name', 'output']);
      const value = pick(PATHS);
      document.set(where, where === 'plugins' ? [value] : value);
      what.push(`${where}: ${value.slice(0, 40)}`);
    },
    () => {
      // Random bytes: a flipped character, a truncation, NUL, invalid UTF-8, a duplicated line.
      const source = raw ?? document.toString();
      const at = Math.floor(random() * source.length);
      const kind = pick(['flip', 'truncate', 'nul', 'latin1', 'duplicate', 'tab']);
      raw =
        kind === 'flip'
          ? source.slice(0, at) + String.fromCharCode(32 + Math.floor(random() * 95)) + source.slice(at + 1)
          : kind === 'truncate'
            ? source.slice(0, at)
            : kind === 'nul'
              ? source.slice(0, at) + '\0' + source.slice(at)
              : kind === 'latin1'
                ? source.slice(0, at) + '\udc80\u00ff' + source.slice(at)
                : kind === 'duplicate'
                  ? source + source.split('\n').slice(0, 3).join('\n')
                  : source.slice(0, at) + '\t' + source.slice(at);
      what.push(`bytes: ${kind} at ${at}`);
    },
    () => {
      const odd = pick(['? [a, b]\n: 1', '? {a: 1}\n: 2', 'self: &self [*self]', 'self: &self {me: *self}', '"": empty key', '~: null key']);
      raw = `${text}\n${odd}\n`;
      what.push(`odd YAML: ${odd.split('\n')[0]}`);
    },
    () => {
      const depth = 65 + Math.floor(random() * 5000);
      raw = `${text}\ndeep: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
      what.push(`[ nested ${depth} deep`);
    },
    () => {
      const { path } = pick(paths());
      overrides.push(`${path.join('.')}=${pick(['[', '{a: ', "'unclosed", '!!js/undefined', '&a [*a]', '*nope', 'a: b: c'])}`);
      what.push(`--set ${path.join('.')}=<bad YAML>`);
    },
  ];
  const count = 1 + Math.floor(random() * 3);
  for (let i = 0; i < count; i++) {
    try {
      pick(mutations)();
    } catch {
      // a mutation that does not apply to this document (a path gone with an earlier deletion): skip it
    }
  }
  return { text: raw ?? document.toString(), overrides, what };
}

/** Runs the CLI in this process, capturing what it writes. */
async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((out += chunk.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((err += chunk.toString()), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

/** Every file and folder under `dir` with its size: what a case must leave as it found it. */
function snapshot(dir: string): string {
  const lines: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      const stats = lstatSync(path);
      lines.push(`${relative(dir, path)} ${stats.isFile() ? stats.size : stats.isDirectory() ? 'dir' : 'other'}`);
      if (stats.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return lines.join('\n');
}

describe('fuzzed recipes: exit 0 or a located exit 2, no stack trace, no hang, nothing written', function () {
  this.timeout(BUDGET_MS + 120_000);
  const cwd = process.cwd();
  let work = '';
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'shnet-fuzz-'));
    cpSync(join(REPO_ROOT, 'recipes'), join(work, 'recipes'), { recursive: true });
    mkdirSync(join(work, 'recipes', 'shapes', 'dir'));
    execFileSync('mkfifo', [join(work, 'recipes', 'shapes', 'fifo')]);
    process.chdir(work);
  });
  after(() => {
    process.chdir(cwd);
    rmSync(work, { recursive: true, force: true });
  });

  it(`seed ${SEED}: every mutated recipe is answered properly`, async () => {
    const random = generator(SEED);
    const recipes = shippedRecipes(join(work, 'recipes'));
    const started = Date.now();
    const tally = { cases: 0, valid: 0, refused: 0 };
    for (let n = 0; Date.now() - started < BUDGET_MS; n++) {
      const source = recipes[Math.floor(random() * recipes.length)];
      const mutated = mutate(readFileSync(source, 'utf8'), random);
      const file = join(dirname(source), `fuzz-case.yaml`);
      writeFileSync(file, mutated.text);
      const command = random() < 0.5 ? ['validate', file] : ['run', '--dry-run', file];
      const args = [...command, ...mutated.overrides.flatMap((o) => ['--set', o])];
      const before = snapshot(work);
      const caseStarted = Date.now();
      const { code, err } = await runCli(args);
      const took = Date.now() - caseStarted;
      const context = () =>
        `seed ${SEED}, case ${n} (${relative(work, source)}: ${mutated.what.join('; ')}): shnet ${args.map((a) => relative(work, a) || a).join(' ')}\n` +
        `exit ${code} in ${took} ms\n${err.slice(0, 3000)}\n--- recipe:\n${mutated.text.slice(0, 3000)}`;
      assert.ok(code === 0 || code === 2, `not exit 0 or 2: ${context()}`);
      if (code === 2) assert.match(err, /^ {2}\S+:\d+: /m, `exit 2 without a located problem: ${context()}`);
      assert.ok(!hasStackTrace(err), `a stack trace: ${context()}`);
      assert.ok(took < CASE_LIMIT_MS, `took ${took} ms: ${context()}`);
      assert.equal(({} as Record<string, unknown>).polluted, undefined, `Object.prototype polluted: ${context()}`);
      assert.equal(snapshot(work), before, `files written: ${context()}`);
      rmSync(file);
      tally.cases++;
      tally[code === 0 ? 'valid' : 'refused']++;
    }
    // Most mutations break a recipe; some leave it valid. Both kinds must have been exercised.
    assert.ok(tally.cases >= 100 && tally.valid > 0 && tally.refused > 0, JSON.stringify(tally));
    process.stderr.write(`      ${tally.cases} cases (${tally.valid} valid, ${tally.refused} refused) in ${Math.round((Date.now() - started) / 1000)} s\n`);
  });
});

/**
 * docs/plugins.md#security: validating a recipe never runs the code of the plugin packages it names; building runs it
 * only with --allow-plugins; what runs is what was validated. The package used here writes a marker file the
 * moment its code runs, so "no code ran" is a fact checked on disk.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblem, RecipeError } from '../../../core/recipe/errors';
import { builtinManifest } from '../../../core/registry/builtin';
import { ALLOW_PLUGINS_ENV } from '../../../core/registry/plugin-trust';
import { prepareRecipe } from '../../../core/run/prepare';
import { hasStackTrace, shnet } from '../../support/cli';
import { REPO_ROOT } from '../../support/python-env';

const MANIFESTS = [builtinManifest()];

/** A plugin package whose code leaves `ran` beside it when it runs; its loss plugin is a real (if trivial) one. */
function writePackage(dir: string, marker: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'index.js'),
    `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');
const { Type, definePlugin } = require('shnet');
class Scaled { constructor() {} }
exports.manifest = {
  name: 'marker-plugins',
  version: '1.0.0',
  plugins: [definePlugin({ kind: 'loss', name: 'scaled', doc: 'a loss', version: '1.0.0',
    options: Type.Object({ scale: Type.Number({ minimum: 0, default: 1 }), tag: Type.String({ pattern: '^(a+)+$', default: 'a' }) }), plugin: Scaled })],
};
`,
  );
}

/** The data manifest `shnet manifest` would write for {@link writePackage}, edited by `edit`. */
function describedManifest(edit: (plugin: Record<string, unknown>) => void = () => undefined): string {
  const plugin: Record<string, unknown> = {
    kind: 'loss',
    name: 'scaled',
    doc: 'a loss',
    version: '1.0.0',
    options: {
      type: 'object',
      properties: { scale: { type: 'number', minimum: 0, default: 1 }, tag: { type: 'string', default: 'a' } },
      required: ['scale', 'tag'],
    },
  };
  edit(plugin);
  return JSON.stringify({ shnetPluginManifest: 1, name: 'marker-plugins', version: '1.0.0', plugins: [plugin] });
}

const RECIPE = (plugin: string) => `extends: ${join(REPO_ROOT, 'recipes', 'shapes', 'baseline.yaml')}
plugins: [${plugin}]
loss: {type: scaled, args: {scale: 2}}
`;

describe('plugin code and recipes (docs/plugins.md#security)', function () {
  this.timeout(60_000);
  let dir = '';
  let marker = '';
  const previousTrust = process.env[ALLOW_PLUGINS_ENV];
  const cwd = process.cwd();
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-trust-'));
    process.chdir(dir); // file names in messages are then short
    marker = join(dir, 'ran');
    writePackage(join(dir, 'pkg'), marker);
    delete process.env[ALLOW_PLUGINS_ENV];
  });
  afterEach(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
    if (previousTrust === undefined) delete process.env[ALLOW_PLUGINS_ENV];
    else process.env[ALLOW_PLUGINS_ENV] = previousTrust;
  });

  const problemsOf = (run: () => unknown): string[] => {
    try {
      run();
      return [];
    } catch (error) {
      if (!(error instanceof RecipeError)) throw error;
      return error.problems.map(formatProblem);
    }
  };

  it('validate, plugins --recipe and run --dry-run run none of it, and say why a package without shnet-plugin.json is refused', () => {
    writeFileSync(join(dir, 'base.yaml'), RECIPE('./pkg/index.js'));
    writeFileSync(join(dir, 'r.yaml'), 'extends: base.yaml\ntrain: {epochs: nope}\n');
    for (const args of [
      ['validate', 'r.yaml'],
      ['plugins', '--recipe', 'r.yaml'],
      ['run', '--dry-run', 'r.yaml'],
    ]) {
      const out = shnet(args, { cwd: dir });
      assert.equal(out.status, 2, `${args.join(' ')}: ${out.stderr}`);
      assert.match(out.stderr, /base\.yaml:2: plugins\.0: .*pkg\/index\.js has no .*shnet-plugin\.json: validation reads .* never runs its code/);
      assert.ok(!hasStackTrace(out.stderr));
      assert.ok(!existsSync(marker), `${args.join(' ')} ran the plugin's code`);
    }
  });

  it("with a shnet-plugin.json the recipe validates against the package's options, still without running it", () => {
    writeFileSync(join(dir, 'pkg', 'shnet-plugin.json'), describedManifest());
    writeFileSync(join(dir, 'r.yaml'), RECIPE('./pkg/index.js'));
    const prepared = prepareRecipe(join(dir, 'r.yaml'), [], MANIFESTS);
    assert.deepEqual(prepared.resolved.loss, { type: 'scaled', args: { scale: 2, tag: 'a' } });
    assert.match(
      problemsOf(() => prepareRecipe(join(dir, 'r.yaml'), ['loss.args.scale=-1'], MANIFESTS)).join('\n'),
      /loss\.args\.scale: must be >= 0 \[loss\/scaled\]/,
    );
    assert.ok(!existsSync(marker));
  });

  it('a package found by name in node_modules beside the recipe is read as data too', () => {
    writePackage(join(dir, 'node_modules', 'marker-plugins'), marker);
    writeFileSync(join(dir, 'node_modules', 'marker-plugins', 'shnet-plugin.json'), describedManifest());
    writeFileSync(join(dir, 'r.yaml'), RECIPE('marker-plugins'));
    assert.equal(prepareRecipe(join(dir, 'r.yaml'), [], MANIFESTS).hash.length, 64);
    assert.ok(!existsSync(marker));
  });

  it('building refuses the code unless --allow-plugins was given, then loads it', () => {
    writeFileSync(join(dir, 'pkg', 'shnet-plugin.json'), describedManifest());
    writeFileSync(join(dir, 'r.yaml'), RECIPE('./pkg/index.js'));
    const refused = problemsOf(() => prepareRecipe(join(dir, 'r.yaml'), [], MANIFESTS, { loadPluginCode: true }));
    assert.equal(refused.length, 1);
    assert.match(refused[0], /r\.yaml:2: plugins\.0: .* is plugin code named by the recipe; shnet runs it only when you allow it: add --allow-plugins/);
    assert.ok(!existsSync(marker));

    process.env[ALLOW_PLUGINS_ENV] = '1';
    const prepared = prepareRecipe(join(dir, 'r.yaml'), [], MANIFESTS, { loadPluginCode: true });
    assert.ok(existsSync(marker), 'allowed: the code ran');
    assert.equal(prepared.registry.implementation('loss', 'scaled').name, 'scaled');
  });

  it('`shnet run` without --allow-plugins exits 2 before building anything', () => {
    writeFileSync(join(dir, 'pkg', 'shnet-plugin.json'), describedManifest());
    writeFileSync(join(dir, 'r.yaml'), RECIPE('./pkg/index.js'));
    const out = shnet(['run', 'r.yaml', '--set', 'output=out'], { cwd: dir, env: { [ALLOW_PLUGINS_ENV]: '' } });
    assert.equal(out.status, 2, out.stderr);
    assert.match(out.stderr, /add --allow-plugins/);
    assert.ok(!existsSync(marker) && !existsSync(join(dir, 'out')));
  });

  it('code that no longer matches its shnet-plugin.json is refused: what runs is what was validated', () => {
    writeFileSync(
      join(dir, 'pkg', 'shnet-plugin.json'),
      describedManifest((p) => ((p.options as { properties: Record<string, unknown> }).properties.scale = { type: 'integer', default: 1 })),
    );
    writeFileSync(join(dir, 'r.yaml'), RECIPE('./pkg/index.js'));
    process.env[ALLOW_PLUGINS_ENV] = '1';
    const problems = problemsOf(() => prepareRecipe(join(dir, 'r.yaml'), [], MANIFESTS, { loadPluginCode: true }));
    assert.match(problems.join('\n'), /r\.yaml:2: plugins\.0: .*shnet-plugin\.json does not describe the code of .*: write it again with `shnet manifest/);
  });

  const hostile: Array<[string, string, RegExp]> = [
    ['a __proto__ key', '{"shnetPluginManifest": 1, "name": "x", "plugins": [], "__proto__": {"polluted": 1}}', /'__proto__' cannot be a key/],
    ['not JSON', 'plugins: [yaml]', /not valid JSON/],
    ['the wrong shape', '{"shnetPluginManifest": 1, "name": "x", "plugins": [{"kind": "weapon"}]}', /not a plugin manifest/],
    ['nesting 10,000 deep', `{"shnetPluginManifest": 1, "name": "x", "plugins": [], "v": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`, /nested deeper than 32/],
    ['more than 1 MiB', `{"shnetPluginManifest": 1, "name": "x", "plugins": [], "v": "${'x'.repeat(1_100_000)}"}`, /bytes; a plugin manifest may be at most/],
  ];
  for (const [what, text, message] of hostile) {
    it(`a shnet-plugin.json with ${what} is a located problem`, () => {
      writeFileSync(join(dir, 'pkg', 'shnet-plugin.json'), text);
      writeFileSync(join(dir, 'r.yaml'), RECIPE('./pkg/index.js'));
      const problems = problemsOf(() => prepareRecipe(join(dir, 'r.yaml'), [], MANIFESTS));
      assert.match(problems[0], /^r\.yaml:2: plugins\.0: /);
      assert.match(problems[0], message);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.ok(!existsSync(marker));
    });
  }

  it("a described schema's regular expressions are not run by validation (a catastrophic pattern cannot hang it)", () => {
    writeFileSync(
      join(dir, 'pkg', 'shnet-plugin.json'),
      describedManifest((p) => ((p.options as { properties: Record<string, Record<string, unknown>> }).properties.tag.pattern = '^(a+)+$')),
    );
    writeFileSync(join(dir, 'r.yaml'), RECIPE('./pkg/index.js'));
    const started = Date.now();
    prepareRecipe(join(dir, 'r.yaml'), [`loss.args.tag=${'a'.repeat(40)}!`], MANIFESTS);
    assert.ok(Date.now() - started < 5_000, 'validation with a hostile pattern finished');
  });
});

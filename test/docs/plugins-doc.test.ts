/**
 * docs/plugins.md is executed: its tagged blocks (```ts file=… / ```yaml file=…) are written into a temporary plugin
 * package, which must load, be listed by `shnet plugins`, validate in a recipe and pass `shnet test-plugin`. The
 * page's "one file plus one line" rule for built-in plugins is checked against plugins/ as it is.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadManifestModule } from '../../core/registry/load-manifest';
import type { PluginManifest, PluginSpec } from '../../core/registry/plugin-spec';
import { builtinManifest } from '../../core/registry/builtin';
import { shnet } from '../support/cli';
import { REPO_ROOT } from '../support/python-env';

const DOC = join(REPO_ROOT, 'docs', 'plugins.md');

/** Fenced blocks tagged with `file=channel-gate/NAME` (the package's folder on the page), by NAME. */
function taggedBlocks(markdown: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of markdown.matchAll(/^```(\w+) file=channel-gate\/(\S+)\n([\s\S]*?)^```$/gm)) blocks.set(match[2], match[3]);
  return blocks;
}

function writePackage(files: Map<string, string>, edit: (name: string, text: string) => string = (_, t) => t): string {
  const dir = mkdtempSync(join(tmpdir(), 'shnet-doc-plugin-'));
  for (const [name, text] of files) writeFileSync(join(dir, name), edit(name, text));
  return dir;
}

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path, ext) : path.endsWith(ext) ? [path] : [];
  });
}

describe('docs/plugins.md', function () {
  this.timeout(120_000);
  const blocks = taggedBlocks(readFileSync(DOC, 'utf8'));
  let dir = '';
  before(() => {
    dir = writePackage(blocks);
  });

  it('has the plugin, its manifest, its package.json and two recipes as tagged blocks', () => {
    assert.deepEqual([...blocks.keys()].sort(), ['channel-gate.ts', 'index.ts', 'package.json', 'recipe.yaml', 'shapes-channel-gate.yaml']);
    const pkg = JSON.parse(blocks.get('package.json')!) as { name: string; main: string; dependencies?: unknown; peerDependencies?: unknown };
    assert.equal(pkg.name, 'shnet-channel-gate', 'the name the manifest and the tracked-run recipe use');
    assert.equal(pkg.main, 'index.ts');
    assert.equal(pkg.dependencies ?? pkg.peerDependencies, undefined, 'installing it fetches nothing');
  });

  it('the example package loads, importing shnet as "shnet"', () => {
    const manifest = loadManifestModule(join(dir, 'index.ts'), join(dir, 'recipe.yaml'));
    assert.equal(manifest.name, 'shnet-channel-gate');
    assert.deepEqual(
      manifest.plugins.map((p) => `${p.kind}/${p.name}`),
      ['highlight/channel-gate'],
    );
  });

  it('`shnet manifest` writes its shnet-plugin.json from the code, and `--check` finds it current', () => {
    const out = shnet(['manifest', join(dir, 'index.ts')]);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /shnet-plugin\.json: highlight\/channel-gate$/m);
    const written = JSON.parse(readFileSync(join(dir, 'shnet-plugin.json'), 'utf8')) as { name: string; plugins: Array<{ options: object }> };
    assert.equal(written.name, 'shnet-channel-gate');
    assert.match(JSON.stringify(written.plugins[0].options), /"reduction"/);
    assert.equal(shnet(['manifest', join(dir, 'index.ts'), '--check']).status, 0);
  });

  it('`shnet plugins highlight --recipe R` lists it, from its package', () => {
    const out = shnet(['plugins', 'highlight', '--recipe', join(dir, 'recipe.yaml')]);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /^ {2}channel-gate {2}Channel attention gate.*from shnet-channel-gate\]$/m);
    assert.match(out.stdout, /reduction/);
  });

  it('`shnet validate R` accepts the recipe, and refuses a mistyped option at its key path', () => {
    const ok = shnet(['validate', join(dir, 'recipe.yaml')]);
    assert.equal(ok.status, 0, ok.stderr);
    const bad = shnet(['validate', join(dir, 'recipe.yaml'), '--set', 'model.image.highlight.semantic.args.reduction=four']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /model\.image\.highlight\.semantic\.args\.reduction: .*\[highlight\/channel-gate\]/);
  });

  it('`shnet test-plugin` passes on it (exit 0, every check PASS)', () => {
    const out = shnet(['test-plugin', join(dir, 'index.ts')]);
    assert.equal(out.status, 0, `${out.stdout}\n${out.stderr}`);
    assert.match(out.stdout, /highlight\/channel-gate +PASS +training: every trainable parameter gets a gradient/);
    assert.doesNotMatch(out.stdout, /FAIL/);
    assert.match(out.stdout, /(\d+) of \1 checks passed on 1 plugin$/m);
  });

  it('`shnet test-plugin` exits 1 and names the weight when one gets no gradient', () => {
    const broken = writePackage(blocks, (name, text) =>
      name === 'channel-gate.ts' ? text.replace('this.excite.apply(hidden)', 'tf.matMul(hidden, this.excite.weight)') : text,
    );
    const out = shnet(['test-plugin', join(broken, 'index.ts'), '--kind', 'highlight']);
    assert.equal(out.status, 1, `${out.stdout}\n${out.stderr}`);
    assert.match(out.stdout, /FAIL +training: every trainable parameter gets a gradient +1 of 5 get no gradient: excite\.bias/);
  });

  it('`shnet test-plugin` exits 2 on a missing package or a filter that matches nothing', () => {
    assert.equal(shnet(['test-plugin', join(dir, 'no-such.ts')]).status, 2);
    const none = shnet(['test-plugin', join(dir, 'index.ts'), '--kind', 'loss']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /shnet-channel-gate has no plugin with kind 'loss' \(it has: highlight\/channel-gate\)/);
  });
});

describe('a built-in plugin is one file plus one registration line', () => {
  const manifestFile = join(REPO_ROOT, 'plugins', 'manifest.ts');
  const isSpec = (value: unknown): value is PluginSpec =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PluginSpec).kind === 'string' &&
    typeof (value as PluginSpec).name === 'string' &&
    typeof (value as PluginSpec).plugin === 'function' &&
    'options' in value;

  it('every spec exported under plugins/ is in the manifest exactly once, and the manifest lists nothing else', () => {
    const manifest: PluginManifest = builtinManifest();
    const exported = new Map<PluginSpec, string>();
    for (const source of filesUnder(join(REPO_ROOT, 'plugins'), '.ts')) {
      if (source === manifestFile) continue;
      const compiled = join(REPO_ROOT, 'dist', relative(REPO_ROOT, source)).replace(/\.ts$/, '.js');
      for (const value of Object.values(require(compiled) as Record<string, unknown>)) {
        if (isSpec(value) && !exported.has(value)) exported.set(value, relative(REPO_ROOT, source));
      }
    }
    const listed = manifest.plugins;
    for (const [spec, file] of exported) {
      const times = listed.filter((p) => p === spec).length;
      assert.equal(times, 1, `${spec.kind}/${spec.name} (${file}) is listed ${times} times in plugins/manifest.ts`);
    }
    for (const spec of listed) assert.ok(exported.has(spec), `${spec.kind}/${spec.name} is in the manifest but not exported by a plugin file`);
  });

  it('each registration is one line of plugins/manifest.ts, and no other file under plugins/ registers plugins', () => {
    const text = readFileSync(manifestFile, 'utf8');
    const list = /plugins: \[\n([\s\S]*?)\n {2}\],/.exec(text)?.[1] ?? '';
    const lines = list
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    assert.ok(lines.length > 0, 'plugins/manifest.ts has no plugins: [...] list');
    for (const line of lines) assert.match(line, /^\w+,$/, `registration line '${line}' is not one spec name`);
    assert.equal(new Set(lines).size, lines.length, 'a spec is registered twice');
    for (const source of filesUnder(join(REPO_ROOT, 'plugins'), '.ts')) {
      if (source === manifestFile) continue;
      const code = readFileSync(source, 'utf8');
      assert.doesNotMatch(code, /addManifest\(|export const manifest\b|plugins: \[/, `${relative(REPO_ROOT, source)} registers plugins itself`);
    }
  });
});

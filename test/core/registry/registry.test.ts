import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { builtinManifest, createRegistry } from '../../../core/registry/builtin';
import { PluginRegistry } from '../../../core/registry/registry';
import { loadManifestModule } from '../../../core/registry/load-manifest';
import { closestNames, editDistance } from '../../../core/registry/suggest';
import { UsageError } from '../../../core/errors';
import { definePlugin } from '../../../core/registry/plugin-spec';
import { toyManifest, ToyPool } from '../fixtures/toy-plugins';

describe('PluginRegistry', () => {
  it('lists registered plugins by kind, sorted by name', () => {
    const registry = new PluginRegistry();
    registry.addManifest(toyManifest);
    assert.deepEqual(
      registry.list('aggregator').map((p) => p.spec.name),
      ['gpo', 'max'],
    );
    assert.equal(registry.get('loss', 'triplet').source, 'toy');
  });

  it('rejects a duplicate (kind, name) from another manifest, naming both packages', () => {
    const registry = new PluginRegistry();
    registry.addManifest(toyManifest);
    const duplicate = {
      name: 'other-package',
      plugins: [definePlugin({ kind: 'aggregator', name: 'gpo', doc: 'x', version: '2', options: Type.Object({}), plugin: ToyPool })],
    };
    assert.throws(
      () => registry.addManifest(duplicate),
      (error: Error) =>
        error instanceof UsageError &&
        /aggregator 'gpo' is already registered by 'toy'/.test(error.message) &&
        /other-package/.test(error.message) &&
        /override: true/.test(error.message),
    );
    assert.equal(registry.get('aggregator', 'gpo').source, 'toy', 'a failed manifest registers nothing');
  });

  it('lets a manifest with override: true replace a plugin', () => {
    const registry = new PluginRegistry();
    registry.addManifest(toyManifest);
    registry.addManifest({
      name: 'replacement',
      override: true,
      plugins: [definePlugin({ kind: 'aggregator', name: 'gpo', doc: 'replaced', version: '2', options: Type.Object({}), plugin: ToyPool })],
    });
    assert.equal(registry.get('aggregator', 'gpo').spec.doc, 'replaced');
    assert.equal(registry.get('aggregator', 'gpo').source, 'replacement');
  });

  it('rejects the same name twice inside one manifest', () => {
    const spec = definePlugin({ kind: 'loss', name: 'x', doc: 'x', version: '1', options: Type.Object({}), plugin: ToyPool });
    assert.throws(() => new PluginRegistry().addManifest({ name: 'm', plugins: [spec, spec] }), /loss\/x appears twice/);
  });

  it("answers an unknown name with the kind's list and a did-you-mean", () => {
    const registry = new PluginRegistry();
    registry.addManifest(toyManifest);
    assert.throws(
      () => registry.get('aggregator', 'gop'),
      (error: Error) =>
        /unknown aggregator 'gop'; did you mean 'gpo'\?/.test(error.message) &&
        /aggregator plugins: gpo, max/.test(error.message) &&
        /looked in manifests: toy/.test(error.message),
    );
    assert.throws(() => registry.get('executor', 'local'), /no executor plugins are registered/);
  });

  it('says which kind a name belongs to when it is registered under another kind (loss.type: adamw)', () => {
    const registry = createRegistry([builtinManifest()]);
    assert.throws(
      () => registry.get('loss', 'adamw'),
      (error: Error) => /^unknown loss 'adamw': 'adamw' is an optimizer, not a loss$/m.test(error.message) && /loss plugins: /.test(error.message),
    );
    assert.throws(
      () => registry.get('image-encoder', 'gpo'),
      (error: Error) => /^unknown image-encoder 'gpo': 'gpo' is an aggregator, not an image-encoder$/m.test(error.message),
    );
  });

  it('fills option defaults and closes option objects', () => {
    const registry = new PluginRegistry();
    registry.addManifest(toyManifest);
    const { validate } = registry.get('aggregator', 'gpo');
    const args: Record<string, unknown> = { width: 8 };
    assert.equal(validate(args), true);
    assert.deepEqual(args, { width: 8, temperature: 0.1 });
    assert.equal(validate({ widht: 8 }), false);
  });
});

describe('suggestions', () => {
  it('computes edit distances', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('gpo', 'gpo'), 0);
  });
  it('suggests close names and nothing for unrelated ones', () => {
    assert.deepEqual(closestNames('semantc', ['semantic', 'spatial']), ['semantic']);
    assert.deepEqual(closestNames('zzzzzz', ['semantic', 'spatial']), []);
  });
});

describe('loadManifestModule (external packages)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-plugin-'));
    // A real npm-style package in node_modules, written in TypeScript, importing shnet's public API by name.
    const pkg = join(dir, 'node_modules', 'shnet-plugin-channel-gate');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'shnet-plugin-channel-gate', version: '0.1.0', main: 'index.ts' }));
    writeFileSync(
      join(pkg, 'index.ts'),
      `
import { definePlugin, inject, injectable, PLUGIN_ARGS, Type, type PluginManifest } from 'shnet';
const Options = Type.Object({ reduction: Type.Integer({ minimum: 1, default: 16 }) });
@injectable()
export class ChannelGate { constructor(@inject(PLUGIN_ARGS) readonly args: { reduction: number }) {} }
export const manifest: PluginManifest = {
  name: 'shnet-plugin-channel-gate',
  plugins: [definePlugin({ kind: 'highlight', name: 'channel-gate', doc: 'squeeze-and-excitation gate', version: '0.1.0', options: Options, plugin: ChannelGate })],
};
`,
    );
    writeFileSync(join(dir, 'local-plugin.js'), `module.exports = { notAManifest: true };`);
  });

  it("loads a TypeScript package by name, resolved from the declaring recipe's folder", () => {
    const manifest = loadManifestModule('shnet-plugin-channel-gate', join(dir, 'recipe.yaml'));
    assert.equal(manifest.name, 'shnet-plugin-channel-gate');
    const registry = new PluginRegistry();
    registry.addManifest(manifest);
    assert.equal(registry.get('highlight', 'channel-gate').spec.doc, 'squeeze-and-excitation gate');
  });

  it('explains a module that exports no manifest, and a missing one', () => {
    assert.throws(() => loadManifestModule(join(dir, 'local-plugin.js'), 'r.yaml'), /exports no manifest/);
    assert.throws(() => loadManifestModule('shnet-plugin-nowhere', join(dir, 'r.yaml')), /'shnet-plugin-nowhere' \(listed in .*r\.yaml\) was not found/);
  });
});

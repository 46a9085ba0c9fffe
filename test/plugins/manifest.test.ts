import { strict as assert } from 'node:assert';
import { PluginRegistry } from '../../core/registry/registry';
import { manifest } from '../../plugins/manifest';
import { withDefaults } from '../support/plugin-harness';

const MODEL_PLUGINS = [
  'backbone/precomputed',
  'segmenter/precomputed',
  'highlight/semantic',
  'highlight/spatial',
  'aggregator/gpo',
  'aggregator/mean',
  'aggregator/max',
  'image-encoder/3shnet',
  'text-encoder/bigru',
  'loss/triplet',
  'loss/infonce',
  'optimizer/adamw',
  'schedule/step',
  'schedule/constant',
];

describe('built-in manifest: model plugins', () => {
  it('registers every model plugin, and each options schema accepts {} (all options have defaults)', () => {
    const registry = new PluginRegistry();
    registry.addManifest(manifest);
    for (const id of MODEL_PLUGINS) {
      const [kind, name] = id.split('/');
      const found = registry.get(kind as never, name);
      const args: Record<string, unknown> = {};
      assert.ok(found.validate(args), `${id}: ${JSON.stringify(found.validate.errors)}`);
      assert.deepEqual(args, withDefaults(found.spec.options, {}), `${id}: ajv and TypeBox fill the same defaults`);
    }
  });

  it('rejects unknown options (schemas are closed)', () => {
    const registry = new PluginRegistry();
    registry.addManifest(manifest);
    assert.equal(registry.get('aggregator', 'gpo').validate({ temprature: 0.1 }), false);
  });
});

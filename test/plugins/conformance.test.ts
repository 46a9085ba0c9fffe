/**
 * Every plugin the built-in manifest registers runs the conformance suite (`core/conformance/`), so a new built-in
 * plugin is contract-tested the moment its registration line is added: one mocha test per check.
 */
import { tf } from '../../core/backend/tf';
import { describeConformance } from '../../core/conformance/mocha';
import { builtinManifest, createRegistry } from '../../core/registry/builtin';

const registry = createRegistry([builtinManifest()]);

describe('conformance of every built-in plugin (cpu)', () => {
  let previous = 'cpu';
  before(async () => {
    previous = tf.getBackend() ?? 'cpu';
    await tf.setBackend('cpu');
  });
  after(async () => {
    await tf.setBackend(previous);
  });
  for (const { spec } of registry.list()) describeConformance(registry.implementation(spec.kind, spec.name), registry);
});

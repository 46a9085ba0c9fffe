/**
 * The conformance suite must fail plugins that break their contract, naming what is wrong: one broken aggregator
 * per check, each built from a small correct one with a single defect.
 */
import { strict as assert } from 'node:assert';
import { Type, type TSchema } from '@sinclair/typebox';
import { inject, injectable } from 'inversify';
import { tf } from '../../../core/backend/tf';
import { runConformance } from '../../../core/conformance';
import type { Aggregator } from '../../../core/contracts/image';
import type { ForwardMode, NamedParameter } from '../../../core/contracts/module';
import { definePlugin, type PluginSpec } from '../../../core/registry/plugin-spec';
import { createRegistry } from '../../../core/registry/builtin';
import { PLUGIN_ARGS } from '../../../core/tokens';

type Defect = 'none' | 'leak' | 'random-eval' | 'duplicate-names' | 'keeps-tensors' | 'reads-padding' | 'unused-weight';

const options = Type.Object({ scale: Type.Number({ default: 1 }), defect: Type.String({ default: 'none' }) }, { additionalProperties: false });

/** Masked mean times a learned per-channel weight, with one optional defect. */
@injectable()
class ToyAggregator implements Aggregator {
  private readonly weight = tf.tidy(() => tf.variable(tf.ones([8]), true));
  private readonly extra = tf.tidy(() => tf.variable(tf.ones([8]), true));
  private kept: tf.Tensor | null = null;

  constructor(@inject(PLUGIN_ARGS) private readonly args: { scale: number; defect: Defect }) {}

  pool(tokens: tf.Tensor3D, lengths: Int32Array, mode: ForwardMode): tf.Tensor2D {
    if (this.args.defect === 'leak') tf.ones([2]);
    if (this.args.defect === 'keeps-tensors' && this.kept === null) this.kept = tf.ones([3]);
    return tf.tidy(() => {
      const n = tokens.shape[1];
      const width = this.args.defect === 'reads-padding' ? n : undefined;
      const mask = tf.tensor2d(Array.from(lengths, (k) => Array.from({ length: n }, (_, j) => (j < (width ?? k) ? 1 : 0))));
      let pooled = tokens.mul(mask.expandDims(2)).sum(1).div(mask.sum(1, true)).mul(this.weight).mul(this.args.scale);
      if (this.args.defect === 'random-eval' && !mode.training) pooled = pooled.add(Math.random());
      if (this.args.defect !== 'unused-weight') pooled = pooled.mul(this.extra);
      return pooled as tf.Tensor2D;
    });
  }

  parameters(): NamedParameter[] {
    const second = this.args.defect === 'duplicate-names' ? 'weight' : 'extra';
    return [
      { name: 'weight', variable: this.weight, trainable: true },
      { name: second, variable: this.extra, trainable: true },
    ];
  }

  dispose(): void {
    this.weight.dispose();
    this.extra.dispose();
  }
}

function toy(defect: Defect, schema: TSchema = options): PluginSpec {
  return definePlugin({
    kind: 'aggregator',
    name: `toy-${defect}`,
    doc: 'test',
    version: '0',
    options: schema,
    plugin: ToyAggregator,
    conformance: { args: { defect } },
  });
}

async function failedChecks(spec: PluginSpec): Promise<Map<string, string>> {
  const registry = createRegistry([{ name: 'toys', plugins: [spec] }]);
  const report = await runConformance(spec, registry);
  return new Map(report.checks.filter((c) => !c.passed).map((c) => [c.name, c.message]));
}

describe('conformance suite: it fails what breaks the contract', function () {
  this.timeout(30_000);
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('passes the correct toy', async () => {
    assert.deepEqual([...(await failedChecks(toy('none')))], []);
  });

  const cases: [Defect, string, RegExp][] = [
    ['leak', 'leak: none per training step or evaluation pass', /a training step and an evaluation pass changed \{"tensors":\d+,"buffers":\d+\} →/],
    ['random-eval', 'evaluation: deterministic', /pooled differs between two evaluation passes/],
    ['duplicate-names', 'parameters: unique names', /'weight' is listed more than once/],
    ['keeps-tensors', 'dispose: releases every tensor', /1 tensor still held after dispose\(\)/],
    ['reads-padding', 'evaluation: padding does not change valid rows', /item 1 changed/],
    ['unused-weight', 'training: every trainable parameter gets a gradient', /1 of 3 get no gradient: extra$/],
  ];
  for (const [defect, check, message] of cases) {
    it(`${defect}: fails '${check}'`, async () => {
      const failed = await failedChecks(toy(defect));
      assert.ok(failed.has(check), `expected '${check}' to fail; failed: ${JSON.stringify([...failed])}`);
      assert.match(failed.get(check)!, message);
    });
  }

  it('an option that accepts every type fails the options check, naming it', async () => {
    const loose = Type.Object({ scale: Type.Unknown({ default: 1 }), defect: Type.String({ default: 'none' }) }, { additionalProperties: false });
    const failed = await failedChecks(toy('none', loose));
    assert.match(failed.get('options: a wrong type is refused at its key path') ?? '', /^scale accepts values of every type/);
  });

  it('an open options object fails the unknown-option check', async () => {
    const open = Type.Object({ scale: Type.Number({ default: 1 }), defect: Type.String({ default: 'none' }) }, { additionalProperties: true });
    const failed = await failedChecks(toy('none', open));
    assert.match(failed.get('options: an unknown option is refused') ?? '', /is accepted/);
  });
});

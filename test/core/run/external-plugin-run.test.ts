/**
 * A run whose recipe loads an external plugin package (`plugins:`) lives on after `shnet run`: its run folder's
 * recipe records the package, so the run can be resumed, evaluated and encoded from the folder alone, and its
 * params say which package filled the slot.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { shnet } from '../../support/cli';
import { startShnet, waitFor } from '../../support/cli-process';
import { SHAPES_3SHNET, setFlags, tinyShapesOverrides } from '../../support/tiny-shapes';

/** A highlight plugin written as a package outside the checkout would be: it imports only 'shnet'. */
const PLUGIN = `
import { Block, Linear, NODE_PATH, PLUGIN_ARGS, RNG, Type, definePlugin, inject, injectable, tf,
  type ForwardMode, type HighlightModule, type Rng, type Segmentation, type Static } from 'shnet';

const options = Type.Object({ embedDim: Type.Integer({ minimum: 1, default: 16 }) }, { additionalProperties: false });

@injectable()
class ScaleGate extends Block implements HighlightModule {
  private readonly gate: Linear;
  constructor(@inject(PLUGIN_ARGS) args: Static<typeof options>, @inject(RNG) rng: Rng, @inject(NODE_PATH) path: string) {
    super();
    this.gate = this.addChild('gate', new Linear(args.embedDim, args.embedDim, rng.fork('init:' + path)));
  }
  highlight(regions: tf.Tensor3D, _lengths: Int32Array, _segmentation: Segmentation, _mode: ForwardMode): tf.Tensor3D {
    return tf.tidy(() => regions.mul(tf.sigmoid(this.gate.apply(regions))) as tf.Tensor3D);
  }
}

export const manifest = {
  name: 'shnet-scale-gate',
  version: '0.2.0',
  plugins: [definePlugin({ kind: 'highlight', name: 'scale-gate', doc: 'A sigmoid gate on every region.', version: '0.2.0', options, plugin: ScaleGate })],
};
`;

describe('a run that uses an external plugin @slow', function () {
  this.timeout(600_000);
  let dir: string;
  let runDir: string;
  const store = () => join(dir, 'mlruns');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-external-'));
    mkdirSync(join(dir, 'scale-gate'));
    writeFileSync(join(dir, 'scale-gate', 'index.ts'), PLUGIN);
    writeFileSync(
      join(dir, 'recipe.yaml'),
      [
        `extends: ${JSON.stringify(SHAPES_3SHNET)}`,
        'plugins: [./scale-gate/index.ts]',
        'name: gated',
        'model:',
        '  image:',
        '    highlight:',
        '      semantic: {type: scale-gate, args: {embedDim: "${vars.embedDim}"}}',
      ].join('\n'),
    );
    // Two epochs of 20 steps; the run is interrupted (SIGINT) once the first epoch's checkpoint exists.
    const overrides = [
      ...tinyShapesOverrides(2),
      'data.args.trainSize=64',
      'train.batchSize=16',
      `output=${join(dir, 'runs')}`,
      'tracker.type=mlflow',
      `tracker.args.localStore=${store()}`,
    ];
    const first = startShnet(['run', 'recipe.yaml', '--allow-plugins', ...setFlags(overrides)], { cwd: dir });
    await waitFor(
      () => existsSync(join(dir, 'runs')) && readdirSync(join(dir, 'runs')).some((r) => existsSync(join(dir, 'runs', r, 'checkpoints', 'last.safetensors'))),
      300_000,
      () => first.output(),
    );
    first.child.kill('SIGINT');
    assert.notEqual(await first.exited, 0, first.output());
    assert.match(first.output(), /interrupted by SIGINT/);
    runDir = join(dir, 'runs', readdirSync(join(dir, 'runs'))[0]);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("records the recipe's plugins in the run folder's recipe.yaml", () => {
    const saved = parse(readFileSync(join(runDir, 'recipe.yaml'), 'utf8')) as { plugins?: string[] };
    assert.deepEqual(saved.plugins, [join(dir, 'scale-gate', 'index.ts')]);
  });

  it("resumes from the run folder with the folder's own recipe", () => {
    const resumed = shnet(['run', join(runDir, 'recipe.yaml'), '--resume', runDir, '--allow-plugins'], { cwd: dir, timeoutMs: 300_000 });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming from .*last\.safetensors: 1 epochs/);
    assert.equal(JSON.parse(readFileSync(join(runDir, 'evaluation.json'), 'utf8')).epochLosses.length, 2, 'evaluation.json has both epochs');
  });

  it('is evaluated and encoded from the run folder alone', () => {
    const evaluated = shnet(['eval', runDir, '--out', join(dir, 'eval.json'), '--allow-plugins'], { cwd: dir, timeoutMs: 300_000 });
    assert.equal(evaluated.status, 0, evaluated.stderr);
    const logged = JSON.parse(readFileSync(join(runDir, 'evaluation.json'), 'utf8')) as { test: { metrics: Record<string, number> } };
    const again = JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8')) as { metrics: Record<string, number> };
    assert.deepEqual(again.metrics, logged.test.metrics);
    const encoded = shnet(['encode', runDir, '--out', join(dir, 'embeddings'), '--allow-plugins'], { cwd: dir, timeoutMs: 300_000 });
    assert.equal(encoded.status, 0, encoded.stderr);
    assert.ok(existsSync(join(dir, 'embeddings', 'images.npy')));
  });

  it('logs the plugin package as a param of the run', () => {
    const params = join(
      store(),
      readdirSync(store()).find((e) => /^[1-9]\d*$/.test(e))!,
    );
    const run = readdirSync(params).find((r) => existsSync(join(params, r, 'params')))!;
    assert.equal(readFileSync(join(params, run, 'params', 'plugins'), 'utf8'), 'shnet-scale-gate@0.2.0');
  });
});

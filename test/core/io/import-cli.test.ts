import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from '../../../core/io/safetensors';
import { readCheckpointState } from '../../../core/train/checkpoint';
import { shapesDataInfo } from '../../../plugins/dataset/shapes/plugin';
import { shapesOptions } from '../../../plugins/dataset/shapes/options';
import { hasStackTrace, shnet } from '../../support/cli';
import { withDefaults } from '../../support/plugin-harness';
import { REPO_ROOT } from '../../support/python-env';
import { writeReferenceCheckpoint } from './reference-checkpoint';
import { requireTorch, runTorch } from './torch/torch-python';

const DEMO = join(REPO_ROOT, 'recipes', 'shapes', '3shnet.yaml');
const EMBED = 8;
const F = 56; // the shapes data set's smallest descriptor width is 53

describe('shnet import (child process) @slow', () => {
  let dir: string;
  let recipe: string;
  let values: Record<string, number[]>;
  let checkpoint: string;
  let broken: string;

  before(function () {
    const python = requireTorch(this);
    dir = mkdtempSync(join(tmpdir(), 'shnet-import-cli-'));
    // The shipped 3SHNet recipe on a tiny shapes data set and a tiny model; the cpu backend keeps it quick.
    recipe = join(dir, 'tiny.yaml');
    writeFileSync(
      recipe,
      [
        `extends: ${DEMO}`,
        'seed: 5',
        'backend: cpu',
        `vars: {embedDim: ${EMBED}}`,
        `data: {args: {trainSize: 6, devSize: 2, testSize: 2, featureDim: ${F}}}`,
        'model: {image: {highlight: {spatial: {args: {keyDim: 4}}}}, text: {args: {wordDim: 4}}}',
      ].join('\n'),
    );
    const info = shapesDataInfo(withDefaults(shapesOptions, { featureDim: F }) as never);
    const sizes = { featureDim: info.featureDim!, numClasses: info.numClasses, embedDim: EMBED, keyDim: 4 };
    ({ file: checkpoint, values } = writeReferenceCheckpoint(python, join(dir, 'model_best.pth'), 'full', sizes));
    // The same checkpoint with one weight of the wrong shape and one key the model does not have.
    broken = join(dir, 'broken.pth');
    runTorch(
      python,
      `import sys, torch
ck = torch.load(sys.argv[1])
img = ck['model'][0]
img['module.fc.weight'] = torch.zeros(${EMBED}, ${F + 1})
img['module.extra.weight'] = torch.zeros(2)
torch.save(ck, sys.argv[2])`,
      [checkpoint, broken],
    );
  });

  it('imports a reference checkpoint, reports the text side it lacks, and writes a loadable shnet checkpoint', () => {
    const out = join(dir, 'imported.safetensors');
    const result = shnet(['import', checkpoint, '--recipe', recipe, '--out', out]);
    assert.equal(result.status, 0, result.stderr);
    // The recipe's text encoder is a BiGRU; the reference's BERT keys have nowhere to go, and say so by name.
    assert.match(result.stdout, /in the checkpoint, not in the model \(\d+\):\n {2}txt_enc\.bert\./);
    assert.match(result.stdout, /in the model, not in the checkpoint \(initial values kept\) \(\d+\):\n {2}text\./);
    assert.doesNotMatch(result.stdout, /img_enc\./, 'every image weight matched');
    assert.match(result.stdout, new RegExp(`wrote ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    const state = readCheckpointState(out);
    assert.equal(state.epoch, 12);
    assert.equal(state.bestScore, 538);
    const file = SafetensorsFile.open(out);
    try {
      // Stored [in, out]: the reference's [out, in] fc weight, transposed.
      const stored = file.readFloat32('image.fc.weight');
      assert.deepEqual(file.entries.get('image.fc.weight')!.shape, [F, EMBED]);
      const torch = values['img_enc.fc.weight'];
      for (let o = 0; o < EMBED; o++) for (let i = 0; i < F; i++) assert.equal(stored[i * EMBED + o], Math.fround(torch[o * F + i]));
      assert.deepEqual(Array.from(file.readFloat32('image.mlp.bns.0.running_var')), values['img_enc.mlp.bns.0.running_var'].map(Math.fround));
    } finally {
      file.close();
    }
  });

  it('names a mis-shaped and an extra key; --strict makes them an error (exit 2) and writes nothing', () => {
    const lenient = shnet(['import', broken, '--recipe', recipe]);
    assert.equal(lenient.status, 0, lenient.stderr);
    assert.match(lenient.stdout, /img_enc\.fc\.weight: \[8, 57\] in the checkpoint, \[8, 56\] in the model \(image\.fc\.weight\)/);
    assert.match(lenient.stdout, /^ {2}img_enc\.extra\.weight$/m);
    const out = join(dir, 'strict.safetensors');
    const strict = shnet(['import', broken, '--recipe', recipe, '--strict', '--out', out]);
    assert.equal(strict.status, 2, strict.stderr);
    assert.match(strict.stderr, /img_enc\.fc\.weight: \[8, 57\]/);
    assert.match(strict.stderr, /img_enc\.extra\.weight/);
    assert.match(strict.stderr, /--strict: \d+ keys do not fit/);
    assert.equal(hasStackTrace(strict.stderr), false, strict.stderr);
    assert.equal(existsSync(out), false);
  });

  it('refuses a file that is not a checkpoint with exit 2 and no stack trace', () => {
    const junk = join(dir, 'junk.pth');
    writeFileSync(junk, 'not a checkpoint');
    const result = shnet(['import', junk, '--recipe', recipe]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /junk\.pth: not a zip archive/);
    assert.equal(hasStackTrace(result.stderr), false, result.stderr);
  });
});

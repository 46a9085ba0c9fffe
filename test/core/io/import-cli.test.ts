import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from '../../../core/io/safetensors';
import { readCheckpointState } from '../../../core/train/checkpoint';
import { shapesDataInfo } from '../../../plugins/dataset/shapes/plugin';
import { shapesOptions } from '../../../plugins/dataset/shapes/options';
import { CLI, hasStackTrace, shnet, type CliResult } from '../../support/cli';
import { withDefaults } from '../../support/plugin-harness';
import { REPO_ROOT } from '../../support/python-env';
import {
  writeBareList,
  writeCorruptedStorage,
  writeDeflateBomb,
  writeImageStateDict,
  writeOversizedStoredEntry,
  writeTruncatedAtStart,
} from './hostile-checkpoints';
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
  let python: string;

  before(function () {
    python = requireTorch(this);
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

  it('refuses, by default, to leave weights of the model at their initial values (exit 2, nothing written)', () => {
    const out = join(dir, 'refused.safetensors');
    const result = shnet(['import', checkpoint, '--recipe', recipe, '--out', out]);
    assert.equal(result.status, 2, result.stderr);
    // The recipe's text encoder is a BiGRU; the reference's BERT keys have nowhere to go, and say so by name.
    assert.match(result.stderr, /in the checkpoint, not in the model \(\d+\):\n {2}txt_enc\.bert\./);
    assert.match(result.stderr, /in the model, not in the checkpoint \(\d+\):\n {2}text\./);
    assert.match(result.stderr, /^ {2}image: (\d+) of \1 weights imported$/m);
    const [, imported, total] = /^ {2}text: (\d+) of (\d+) weights imported$/m.exec(result.stderr) ?? [];
    assert.ok(Number(imported) < Number(total), 'only the GPO pooling of the text side fits');
    assert.match(result.stderr, /\d+ weights of the model of .*tiny\.yaml are missing from the checkpoint or mis-shaped; nothing written/);
    assert.match(result.stderr, /--allow-missing keeps their initial values \(--only image\|text imports one encoder\)/);
    assert.equal(existsSync(out), false);
    assert.equal(hasStackTrace(result.stderr), false, result.stderr);
    const allowed = shnet(['import', checkpoint, '--recipe', recipe, '--allow-missing']);
    assert.equal(allowed.status, 0, allowed.stderr);
    assert.match(allowed.stdout, /in the model, not in the checkpoint \(\d+\):\n {2}text\./);
  });

  it('imports one encoder with --only image, and writes a loadable shnet checkpoint', () => {
    const out = join(dir, 'imported.safetensors');
    const result = shnet(['import', checkpoint, '--recipe', recipe, '--out', out, '--only', 'image']);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^.*model_best\.pth \(reference checkpoint \{'model': \[img_enc, txt_enc\]\}\): \d+ weights imported, 0 problems$/m);
    assert.match(result.stdout, /^ {2}text: left out \(--only\), \d+ weights keep their initial values$/m);
    assert.match(result.stdout, /^ {2}txt_enc\.bert\.[\w.]+: not imported: text is left out \(--only\)$/m);
    assert.doesNotMatch(result.stdout, /img_enc\.\S+: /, 'every image weight matched');
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

  it('names a mis-shaped and an extra key; a mis-shaped weight, or --strict and an extra key, is an error (exit 2) and writes nothing', () => {
    const shaped = shnet(['import', broken, '--recipe', recipe, '--only', 'image']);
    assert.equal(shaped.status, 2, shaped.stderr);
    assert.match(shaped.stderr, /img_enc\.fc\.weight: \[8, 57\] in the checkpoint, \[8, 56\] in the model \(image\.fc\.weight\)/);
    assert.match(shaped.stderr, /^1 weights of the model of .* are missing from the checkpoint or mis-shaped; nothing written$/m);
    const lenient = shnet(['import', broken, '--recipe', recipe, '--only', 'image', '--allow-missing']);
    assert.equal(lenient.status, 0, lenient.stderr);
    assert.match(lenient.stdout, /img_enc\.fc\.weight: \[8, 57\] in the checkpoint, \[8, 56\] in the model \(image\.fc\.weight\)/);
    assert.match(lenient.stdout, /^ {2}img_enc\.extra\.weight$/m);
    const out = join(dir, 'strict.safetensors');
    const strict = shnet(['import', broken, '--recipe', recipe, '--strict', '--allow-missing', '--out', out]);
    assert.equal(strict.status, 2, strict.stderr);
    assert.match(strict.stderr, /img_enc\.fc\.weight: \[8, 57\]/);
    assert.match(strict.stderr, /img_enc\.extra\.weight/);
    assert.match(strict.stderr, /--strict: \d+ keys do not fit/);
    assert.equal(hasStackTrace(strict.stderr), false, strict.stderr);
    assert.equal(existsSync(out), false);
  });

  it('reads bare state dicts: the [img_enc, txt_enc] list, and one encoder with or without module. prefixes', () => {
    const list = join(dir, 'list.pth');
    writeBareList(python, checkpoint, list);
    const fromList = shnet(['import', list, '--recipe', recipe, '--only', 'image']);
    assert.equal(fromList.status, 0, fromList.stderr);
    assert.match(fromList.stdout, /list\.pth \(bare list \[img_enc, txt_enc\]\): \d+ weights imported, 0 problems/);
    for (const prefixed of [true, false]) {
      const file = join(dir, `image-${prefixed}.pth`);
      writeImageStateDict(python, checkpoint, file, prefixed);
      const out = join(dir, `image-${prefixed}.safetensors`);
      // No --only: the keys match the image encoder's weights, so that is whose they are.
      const result = shnet(['import', file, '--recipe', recipe, '--allow-missing', '--out', out]);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout, /\(bare state dict of the image encoder, by its key names\)/);
      assert.match(result.stdout, /^ {2}image: (\d+) of \1 weights imported$/m);
      const onlyImage = shnet(['import', file, '--recipe', recipe, '--only', 'image']);
      assert.equal(onlyImage.status, 0, onlyImage.stderr);
      const file2 = SafetensorsFile.open(out);
      try {
        const stored = file2.readFloat32('image.fc.weight');
        assert.equal(stored[0 * EMBED + 1], Math.fround(values['img_enc.fc.weight'][1 * F + 0]));
      } finally {
        file2.close();
      }
    }
  });

  it('refuses a file that is not a checkpoint, a missing one and a truncated one in one clear line, exit 2', () => {
    const junk = join(dir, 'junk.pth');
    writeFileSync(junk, 'not a checkpoint');
    const result = shnet(['import', junk, '--recipe', recipe]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /junk\.pth: not a zip archive/);
    assert.equal(hasStackTrace(result.stderr), false, result.stderr);

    const missing = shnet(['import', join(dir, 'nowhere.pth'), '--recipe', recipe]);
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr, `shnet: ${join(dir, 'nowhere.pth')}: no such file\n`);

    const headless = join(dir, 'headless.pth');
    writeTruncatedAtStart(checkpoint, headless, 100);
    const truncated = shnet(['import', headless, '--recipe', recipe]);
    assert.equal(truncated.status, 2, truncated.stderr);
    assert.match(truncated.stderr, /headless\.pth: truncated: 100 bytes are missing before its zip directory/);
    assert.doesNotMatch(truncated.stderr, /not a zip archive/);
  });

  it("checks every entry's CRC-32: a storage with zeroed bytes is refused, naming the entry", () => {
    const damaged = join(dir, 'damaged.pth');
    const entry = writeCorruptedStorage(python, checkpoint, damaged);
    const result = shnet(['import', damaged, '--recipe', recipe, '--allow-missing']);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`damaged\\.pth: entry '${entry}' is damaged: its CRC-32 is 0x[0-9a-f]{8}, the archive records 0x[0-9a-f]{8}`));
    assert.equal(hasStackTrace(result.stderr), false, result.stderr);
  });

  it('bounds every inflate: a 1 MB file declaring a 1 GiB storage, or one inflating beyond what it declares, exits 2 in bounded memory', () => {
    for (const lie of [false, true]) {
      const bomb = join(dir, `bomb-${lie}.pth`);
      writeDeflateBomb(python, bomb, EMBED, F, lie);
      assert.ok(statSync(bomb).size < 2_000_000, 'the bomb is small on disk');
      const result = shnetWithPeakRss(['import', bomb, '--recipe', recipe, '--only', 'image', '--allow-missing']);
      assert.equal(result.status, 2, result.stderr);
      assert.match(
        result.stderr,
        lie
          ? new RegExp(`bomb-true\\.pth: entry 'archive/data/0' inflates to more than its declared ${EMBED * F * 4} bytes`)
          : /bomb-false\.pth: entry 'archive\/data\/0' declares 1073741824 bytes uncompressed, more than the \d+ this file can hold for the model; not inflated/,
      );
      if (result.peakRssMb !== undefined) assert.ok(result.peakRssMb < 600, `peak RSS ${result.peakRssMb} MB`);
    }
  });

  it('refuses a stored entry declaring 0xfffffff0 bytes at open, naming the file and the entry (exit 2)', () => {
    const file = join(dir, 'oversized.pth');
    writeOversizedStoredEntry(python, file);
    const result = shnet(['import', file, '--recipe', recipe, '--only', 'image', '--allow-missing']);
    assert.equal(result.status, 2, result.stderr);
    assert.match(
      result.stderr,
      /oversized\.pth: entry 'archive\/data\/0' declares 4294967280 bytes from byte \d+, beyond the \d+ bytes of entries the file holds/,
    );
    assert.equal(hasStackTrace(result.stderr), false, result.stderr);
  });
});

/** `shnet ARGS` under GNU time when it is installed, for the child's peak RSS (MB). */
function shnetWithPeakRss(args: string[]): CliResult & { peakRssMb?: number } {
  if (!existsSync('/usr/bin/time')) return shnet(args);
  const result = spawnSync('/usr/bin/time', ['-f', 'peak-rss-kb %M', process.execPath, CLI, ...args], { encoding: 'utf8', cwd: REPO_ROOT });
  const match = /peak-rss-kb (\d+)\s*$/.exec(result.stderr);
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, peakRssMb: match ? Number(match[1]) / 1024 : undefined };
}

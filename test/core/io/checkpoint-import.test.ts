import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../../core/backend/tf';
import {
  applyImport,
  describePlan,
  planImport,
  problemCount,
  readSourceCheckpoint,
  referenceStateDict,
  type ImportBlock,
} from '../../../core/io/checkpoint-import';
import { sourceEncoders } from '../../../core/io/import-rules';
import type { ParameterOwner } from '../../../core/contracts/module';
import { buildImageEncoder, FULL, VSE_INFINITY } from '../../support/model-fixtures';
import { evaluation, TINY_INFO } from '../../support/plugin-harness';
import { assertClose, restoreBackendAfterSuite } from '../../support/tensors';
import { buildBert, writeModelDir } from '../../plugins/text-encoder/bert/fixtures';
import { writeReferenceCheckpoint } from './reference-checkpoint';
import { requireTorch } from './torch/torch-python';

const D = 8;

describe('checkpoint import (reference PyTorch checkpoints) @slow', () => {
  restoreBackendAfterSuite();
  let modelDir: string;
  const checkpoints = {} as Record<'full' | 'vse', { file: string; values: Record<string, number[]> }>;

  before(function () {
    const python = requireTorch(this);
    const dir = mkdtempSync(join(tmpdir(), 'shnet-import-'));
    modelDir = writeModelDir();
    // keyDim 4: what buildImageEncoder gives the spatial highlight below D = 128.
    const sizes = { featureDim: TINY_INFO.featureDim!, numClasses: TINY_INFO.numClasses, embedDim: D, keyDim: 4 };
    for (const variant of ['full', 'vse'] as const) checkpoints[variant] = writeReferenceCheckpoint(python, join(dir, `${variant}.pth`), variant, sizes);
    return tf.setBackend('cpu');
  });

  /** The checkpoint as an import into `blocks` opens it (tensors read on demand, so it stays open until applied). */
  const open = (file: string, blocks: readonly ImportBlock[]) => readSourceCheckpoint(file, { encoders: sourceEncoders(blocks) });

  const blocksFor = (image: ParameterOwner, text: ParameterOwner): ImportBlock[] => [
    { name: 'image', reference: 'img_enc', owner: image },
    { name: 'text', reference: 'txt_enc', owner: text },
  ];

  it('maps a full 3SHNet + BERT reference checkpoint with no unmatched key, and exports back exactly', () => {
    const { file, values } = checkpoints.full;
    const image = buildImageEncoder(FULL, TINY_INFO, D);
    const text = buildBert({ modelDir, pretrained: false, embedDim: D });
    const blocks = blocksFor(image, text);
    const checkpoint = open(file, blocks);
    assert.deepEqual(checkpoint.info.epoch, 12);
    assert.deepEqual(checkpoint.info.best_rsum, 538);
    assert.deepEqual((checkpoint.info.opt as Record<string, unknown>).precomp_enc_type, 'basic');

    const plan = planImport(checkpoint, blocks);
    assert.equal(problemCount(plan), 0, describePlan(plan, checkpoint).join('\n'));
    assert.deepEqual(plan.ignored.map((i) => i.key).sort(), [
      'txt_enc.bert.embeddings.position_ids',
      'txt_enc.bert.pooler.dense.bias',
      'txt_enc.bert.pooler.dense.weight',
    ]);
    assert.equal(plan.assignments.length, image.parameters().length + text.parameters().length);
    applyImport(plan);
    checkpoint.close();

    // Export: every model weight in PyTorch layout equals the checkpoint's tensor, bit for bit.
    const exported = referenceStateDict(blocks);
    assert.equal(exported.size, Object.keys(values).length - 3);
    for (const [key, { data }] of exported) assert.deepEqual(Array.from(data), values[key].map(Math.fround), key);
    image.dispose();
    text.dispose();
  });

  it('copies BatchNorm running statistics and counters into the stored variables', () => {
    const { file, values } = checkpoints.full;
    const image = buildImageEncoder(FULL, TINY_INFO, D);
    const byName = new Map(image.parameters().map((p) => [p.name, p.variable]));
    const blocks = [{ name: 'image', reference: 'img_enc', owner: image }];
    const checkpoint = open(file, blocks);
    applyImport(planImport(checkpoint, blocks));
    checkpoint.close();
    for (const key of ['mlp.bns.0.running_mean', 'mlp.bns.0.running_var', 'crossmodalfusion_sp.embedding_Seg.1.running_var', 'fusion_mlp.bns.1.running_mean']) {
      assert.deepEqual(Array.from(byName.get(key)!.dataSync()), values[`img_enc.${key}`].map(Math.fround), key);
    }
    const counter = byName.get('seg_mlp.bns.0.num_batches_tracked')!;
    assert.equal(counter.dtype, 'int32');
    assert.equal(counter.dataSync()[0], values['img_enc.seg_mlp.bns.0.num_batches_tracked'][0]);
    assert.notEqual(counter.dataSync()[0], 0);
    image.dispose();
  });

  it('reports extra, missing and mis-shaped keys by name, and leaves their weights alone', () => {
    const { file } = checkpoints.vse;
    // The VSE∞ checkpoint lacks every 3SHNet-only weight; a smaller embedding makes its weights mis-shaped.
    const image = buildImageEncoder(FULL, TINY_INFO, D);
    const small = buildImageEncoder(VSE_INFINITY, TINY_INFO, D - 2);
    const checkpoint = open(file, [{ name: 'image', reference: 'img_enc', owner: image }]);
    const plan = planImport(checkpoint, [{ name: 'image', reference: 'img_enc', owner: image }]);
    assert.ok(plan.missing.includes('image.crossmodalfusion_sp.embedding_Seg.0.weight'));
    assert.ok(plan.missing.includes('image.seg_mlp.bns.0.running_var'));
    assert.ok(
      plan.unexpected.every((k) => k.startsWith('txt_enc.')),
      'the text keys have no block to go to',
    );
    const shaped = planImport(checkpoint, [{ name: 'image', reference: 'img_enc', owner: small }]);
    const fc = shaped.misShaped.find((m) => m.key === 'img_enc.fc.weight');
    assert.ok(fc, describePlan(shaped, checkpoint).join('\n'));
    assert.match(fc.problem, /\[8, 12\] in the checkpoint, \[6, 12\] in the model \(image\.fc\.weight\)/);
    const report = describePlan(shaped, checkpoint).join('\n');
    assert.match(report, /shape or dtype mismatch \(\d+\):\n {2}img_enc\.fc\.weight: /);
    assert.match(report, /in the checkpoint, not in the model \(\d+\):\n {2}txt_enc\./);
    const before = Array.from(
      small
        .parameters()
        .find((p) => p.name === 'fc.weight')!
        .variable.dataSync(),
    );
    applyImport(shaped);
    assert.deepEqual(
      Array.from(
        small
          .parameters()
          .find((p) => p.name === 'fc.weight')!
          .variable.dataSync(),
      ),
      before,
    );
    checkpoint.close();
    image.dispose();
    small.dispose();
  });

  it('gives the imported VSE∞ image encoder the embeddings torch computes from the same checkpoint', () => {
    const { file, values } = checkpoints.vse;
    const image = buildImageEncoder(VSE_INFINITY, TINY_INFO, D);
    const blocks = [{ name: 'image', reference: 'img_enc', owner: image }];
    const checkpoint = open(file, blocks);
    applyImport(planImport(checkpoint, blocks));
    checkpoint.close();
    const f = TINY_INFO.featureDim!;
    const inputs = { batchSize: 3, regions: tf.tensor3d(values.__features__, [3, 4, f]), regionLengths: Int32Array.from([4, 4, 4]) };
    const embedding = image.encode(inputs, evaluation());
    assertClose(Array.from(embedding.dataSync()), values.__embedding__, 'image embedding', 1e-4, 1e-5);
    tf.dispose([embedding, inputs.regions]);
    image.dispose();
  });
});

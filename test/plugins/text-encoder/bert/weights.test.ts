import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { tf } from '../../../../core/backend/tf';
import { writeSafetensors, type HostTensor } from '../../../../core/io/safetensors-writer';
import type { BertTextEncoder } from '../../../../plugins/text-encoder/bert';
import { evaluation, torchStateDict } from '../../../support/plugin-harness';
import { assertClose, restoreBackendAfterSuite } from '../../../support/tensors';
import { buildBert, TINY_CONFIG, writeModelDir } from './fixtures';

const CAPTIONS = ['a man rides a horse', 'the dog runs on the beach!'];

/**
 * Writes `enc`'s BERT weights as a Hugging Face checkpoint would hold them (PyTorch layouts, `state_dict` keys),
 * after `edit` may rename, drop, reshape or add entries.
 */
function writeCheckpoint(dir: string, enc: BertTextEncoder, edit: (t: Map<string, HostTensor>) => void = () => {}): string {
  const state = torchStateDict(enc);
  const shapes = new Map(enc.parameters().map((p) => [p.name, p.variable.shape]));
  const layouts = enc.torchLayouts();
  const tensors = new Map<string, HostTensor>();
  for (const [name, values] of Object.entries(state)) {
    if (!name.startsWith('bert.')) continue;
    const stored = shapes.get(name)!;
    const perm = layouts.get(name);
    tensors.set(name.slice('bert.'.length), { dtype: 'F32', shape: perm ? perm.map((a) => stored[a]) : stored, data: Float32Array.from(values) });
  }
  edit(tensors);
  const file = join(dir, 'model.safetensors');
  writeSafetensors(file, tensors);
  return file;
}

const hidden = (enc: BertTextEncoder) =>
  tf.tidy(() => {
    const { hidden: h } = enc.hiddenStates(CAPTIONS, evaluation());
    return Array.from(h.dataSync());
  });

describe('BERT checkpoint loading (model.safetensors)', () => {
  restoreBackendAfterSuite();
  before(() => tf.setBackend('cpu'));

  it('loads a Hugging Face checkpoint one-to-one: same hidden states, pooler and position_ids skipped by name', () => {
    const dir = writeModelDir();
    const source = buildBert({ modelDir: dir, pretrained: false }, 11);
    writeCheckpoint(dir, source, (t) => {
      t.set('pooler.dense.weight', { dtype: 'F32', shape: [8, 8], data: new Float32Array(64) });
      t.set('pooler.dense.bias', { dtype: 'F32', shape: [8], data: new Float32Array(8) });
      t.set('embeddings.position_ids', { dtype: 'I32', shape: [1, 40], data: Int32Array.from({ length: 40 }, (_, i) => i) });
    });
    const loaded = buildBert({ modelDir: dir }, 99);
    assertClose(hidden(loaded), hidden(source), 'hidden states after loading', 0, 0);
    assert.equal(loaded.loadReport?.loaded, loaded.parameters().filter((p) => p.name.startsWith('bert.')).length);
    assert.deepEqual(loaded.loadReport?.skipped.map((s) => s.name).sort(), ['embeddings.position_ids', 'pooler.dense.bias', 'pooler.dense.weight']);
    assert.match(loaded.loadReport!.skipped.find((s) => s.name === 'pooler.dense.weight')!.reason, /never the pooled \[CLS\]/);
    source.dispose();
    loaded.dispose();
  });

  it('reads BertForPreTraining checkpoints: bert. prefix, legacy LayerNorm gamma/beta, cls.* heads skipped', () => {
    const dir = writeModelDir();
    const source = buildBert({ modelDir: dir, pretrained: false }, 12);
    writeCheckpoint(dir, source, (t) => {
      const entries = [...t];
      t.clear();
      for (const [k, v] of entries) t.set(`bert.${k.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta')}`, v);
      t.set('cls.predictions.bias', { dtype: 'F32', shape: [TINY_CONFIG.vocab_size], data: new Float32Array(TINY_CONFIG.vocab_size) });
    });
    const loaded = buildBert({ modelDir: dir }, 99);
    assertClose(hidden(loaded), hidden(source), 'hidden states after loading', 0, 0);
    assert.equal(loaded.loadReport?.prefix, 'bert.');
    assert.deepEqual(
      loaded.loadReport?.skipped.map((s) => s.name),
      ['cls.predictions.bias'],
    );
    source.dispose();
    loaded.dispose();
  });

  it('reports missing, unexpected and mis-shaped keys by name, naming the file, and builds nothing', () => {
    const dir = writeModelDir();
    const source = buildBert({ modelDir: dir, pretrained: false });
    const file = writeCheckpoint(dir, source, (t) => {
      t.delete('encoder.layer.1.output.dense.bias');
      const q = t.get('encoder.layer.0.attention.self.query.weight')!;
      t.set('encoder.layer.0.attention.self.query.weight', { ...q, shape: [4, 16] });
      t.set('encoder.layer.2.output.dense.bias', { dtype: 'F32', shape: [8], data: new Float32Array(8) });
    });
    source.dispose();
    const before = tf.memory().numTensors;
    assert.throws(
      () => buildBert({ modelDir: dir }),
      (e: Error) =>
        e.message.startsWith(`${file}: the weights do not match`) &&
        e.message.includes('missing (1): encoder.layer.1.output.dense.bias') &&
        e.message.includes('unexpected (1): encoder.layer.2.output.dense.bias') &&
        e.message.includes('wrong shape or type (1): encoder.layer.0.attention.self.query.weight [4, 16] (expected [8, 8])'),
    );
    assert.equal(tf.memory().numTensors, before, 'a failed load releases the weights it built');
  });

  it('names the missing model.safetensors', () => {
    const dir = writeModelDir();
    assert.throws(
      () => buildBert({ modelDir: dir }),
      (e: Error) => e.message.includes(join(dir, 'model.safetensors')) && /not found/.test(e.message),
    );
  });
});

import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { tf } from '../../../../core/backend/tf';
import { withSafetensors } from '../../../../core/io/safetensors';
import { countTrainable } from '../../../../core/nn';
import { bertParameterShapes, bertPoolerShapes, type BertTextEncoder } from '../../../../plugins/text-encoder/bert';
import { evaluation } from '../../../support/plugin-harness';
import { runNumpyJson } from '../../../support/python-env';
import { assertClose, restoreBackendAfterSuite } from '../../../support/tensors';
import { buildBert, miniLmDir, NUMPY_BERT } from './fixtures';

const sizeOf = (shapes: Map<string, number[]>) => [...shapes.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);

/** sentence-transformers' pooling for all-MiniLM-L6-v2: mean over the caption's tokens, then L2 norm. @returns `[B, H]` */
function meanPooled(enc: BertTextEncoder, captions: string[]): number[][] {
  return tf.tidy(() => {
    const { hidden, lengths } = enc.hiddenStates(captions, evaluation());
    const rows = hidden.arraySync();
    return rows.map((tokens, b) => {
      const mean = tokens[0].map((_, j) => tokens.slice(0, lengths[b]).reduce((s, t) => s + t[j], 0) / lengths[b]);
      const norm = Math.hypot(...mean);
      return mean.map((v) => v / norm);
    });
  });
}

const cosine = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

describe('@slow BERT text encoder on the real all-MiniLM-L6-v2 checkpoint', function () {
  this.timeout(600_000);
  restoreBackendAfterSuite(); // wasm for the suite
  let dir = '';
  let enc: BertTextEncoder;

  before(() => {
    dir = miniLmDir();
    enc = buildBert({ modelDir: dir, embedDim: 16 });
  });
  after(() => enc?.dispose());

  it('loads every weight; skips exactly the pooler and the position_ids buffer; count = file − pooler', () => {
    const fileFloats = withSafetensors(join(dir, 'model.safetensors'), (st) =>
      [...st.entries.values()].filter((e) => e.dtype === 'F32').reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0),
    );
    const bert = sizeOf(bertParameterShapes(enc.config));
    assert.equal(bert + sizeOf(bertPoolerShapes(enc.config)), fileFloats);
    assert.equal(bert, 22_565_376);
    assert.equal(enc.loadReport?.loaded, enc.parameters().filter((p) => p.name.startsWith('bert.')).length);
    assert.deepEqual(enc.loadReport?.skipped.map((s) => s.name).sort(), ['embeddings.position_ids', 'pooler.dense.bias', 'pooler.dense.weight']);
    assert.equal(countTrainable(enc), bert + 384 * 16 + 16 + 12_704);
    assert.equal(enc.maxLength, 512, 'captions are cut only at the position table');
  });

  it('gives the hidden states numpy computes from the same safetensors file (within 1e-4), padded batch', () => {
    const captions = ['A man rides a horse on the beach.', 'Two giraffes stand in a zoo enclosure next to a tree!'];
    const batch = enc.tokenize(captions, evaluation());
    const ids = captions.map((_, b) => Array.from(batch.ids.slice(b * batch.width, b * batch.width + batch.lengths[b])));
    const expected = runNumpyJson<number[][][]>(
      `${NUMPY_BERT}
W = read_safetensors(a['file']); cfg = json.load(open(a['config']))
print(json.dumps([bert_hidden(W, cfg, ids).tolist() for ids in a['ids']]))`,
      { file: join(dir, 'model.safetensors'), config: join(dir, 'config.json'), ids },
    );
    const got = tf.tidy(() => {
      const { hidden } = enc.hiddenStates(captions, evaluation());
      return hidden.arraySync();
    });
    captions.forEach((_, b) => assertClose(got[b].slice(0, batch.lengths[b]).flat(), expected[b].flat(), `hidden states of caption ${b}`, 0, 1e-4));
  });

  it('puts related captions closer than unrelated ones (mean-pooled sentence embeddings)', () => {
    const [horse, paraphrase, soup] = meanPooled(enc, ['a man rides a horse on the beach', 'a person riding a horse by the sea', 'a bowl of soup on a table']);
    const related = cosine(horse, paraphrase);
    const unrelated = [cosine(horse, soup), cosine(paraphrase, soup)];
    console.log(
      `      cos(horse, paraphrase) = ${related.toFixed(4)}; cos(horse, soup) = ${unrelated[0].toFixed(4)}; cos(paraphrase, soup) = ${unrelated[1].toFixed(4)}`,
    );
    assert.ok(related > 0.6, `related captions: ${related}`);
    assert.ok(
      unrelated.every((u) => u < related - 0.3),
      `unrelated ${unrelated} vs related ${related}`,
    );
  });
});

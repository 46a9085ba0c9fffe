import { strict as assert } from 'node:assert';
import { tf } from '../../../../core/backend/tf';
import { countTrainable, trainableVariables } from '../../../../core/nn';
import { BERT_BASE_UNCASED, bertParameterShapes, bertPoolerShapes, parseBertConfig, TEXT_BACKBONE_GROUP } from '../../../../plugins/text-encoder/bert';
import { evaluation, NUMPY_GRU_GPO, NUMPY_MODULES, torchStateDict, training } from '../../../support/plugin-harness';
import { runNumpyJson } from '../../../support/python-env';
import { assertClose, expectNoLeak, restoreBackendAfterSuite, TEST_BACKENDS } from '../../../support/tensors';
import { buildBert, NUMPY_BERT, TINY_CONFIG, writeModelDir } from './fixtures';

const CAPTIONS = ['A man rides a horse on the beach.', 'two dogs', 'the unaffable man is playing by the sea!'];

const sizeOf = (shapes: Map<string, number[]>) => [...shapes.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);

describe('BertTextEncoder (tiny config, built from config.json)', () => {
  restoreBackendAfterSuite();
  before(() => tf.setBackend('cpu'));
  const dir = writeModelDir();
  const tiny = parseBertConfig(TINY_CONFIG, 'tiny config');

  it("counts bert-base-uncased as 108,891,648 weights without the pooler, 109,482,240 with it (BertModel's count, the reference's)", () => {
    // Embeddings 23,837,184 + 12 layers × 7,087,872 = 108,891,648; the pooler adds 768² + 768 = 590,592.
    assert.equal(sizeOf(bertParameterShapes(BERT_BASE_UNCASED)), 108_891_648);
    assert.equal(sizeOf(bertPoolerShapes(BERT_BASE_UNCASED)), 590_592);
    assert.equal(sizeOf(bertParameterShapes(BERT_BASE_UNCASED)) + sizeOf(bertPoolerShapes(BERT_BASE_UNCASED)), 109_482_240);
  });

  it('names its weights with the Hugging Face state_dict keys, in PyTorch shapes, BERT in group text-backbone', () => {
    const enc = buildBert({ modelDir: dir, pretrained: false });
    const state = torchStateDict(enc);
    const bert = Object.keys(state).filter((k) => k.startsWith('bert.'));
    assert.deepEqual(
      bert,
      [...bertParameterShapes(tiny).keys()].map((k) => `bert.${k}`),
    );
    for (const [name, shape] of bertParameterShapes(tiny)) {
      assert.equal(
        state[`bert.${name}`].length,
        shape.reduce((a, b) => a * b, 1),
        name,
      );
    }
    const layouts = enc.torchLayouts();
    assert.deepEqual(layouts.get('bert.encoder.layer.1.intermediate.dense.weight'), [1, 0], 'Linear weights are stored [in, out]');
    const groups = new Map(enc.parameters().map((p) => [p.name, p.group ?? 'default']));
    assert.equal(groups.get('bert.embeddings.word_embeddings.weight'), TEXT_BACKBONE_GROUP);
    assert.equal(groups.get('bert.encoder.layer.0.attention.self.query.weight'), TEXT_BACKBONE_GROUP);
    assert.equal(groups.get('linear.weight'), 'default');
    assert.ok([...groups].filter(([n]) => n.startsWith('gpool.')).every(([, g]) => g === 'default'));
    assert.equal(countTrainable(enc), sizeOf(bertParameterShapes(tiny)) + 8 * 6 + 6 + 12_704);
    enc.dispose();
  });

  it('initialises as BERT: N(0, initializer_range) weights, zero biases, LayerNorm 1/0, [PAD] row 0', () => {
    const dir2 = writeModelDir({ ...TINY_CONFIG, hidden_size: 64, num_attention_heads: 4, initializer_range: 0.02 });
    const enc = buildBert({ modelDir: dir2, pretrained: false });
    const state = torchStateDict(enc);
    const q = state['bert.encoder.layer.0.attention.self.query.weight'];
    const mean = q.reduce((a, b) => a + b, 0) / q.length;
    const std = Math.sqrt(q.reduce((a, b) => a + (b - mean) ** 2, 0) / q.length);
    assert.ok(Math.abs(mean) < 0.002 && Math.abs(std - 0.02) < 0.002, `query weight mean ${mean}, std ${std}`);
    assert.ok(state['bert.encoder.layer.0.attention.self.query.bias'].every((v) => v === 0));
    assert.ok(state['bert.embeddings.LayerNorm.weight'].every((v) => v === 1));
    assert.ok(
      state['bert.embeddings.word_embeddings.weight'].slice(0, 64).every((v) => v === 0),
      '[PAD] row',
    );
    enc.dispose();
  });

  it('computes hidden states and embeddings as numpy does from the same weights (padding masked)', () => {
    const enc = buildBert({ modelDir: dir, pretrained: false });
    const batch = enc.tokenize(CAPTIONS, evaluation());
    const ids = CAPTIONS.map((_, b) => Array.from(batch.ids.slice(b * batch.width, b * batch.width + batch.lengths[b])));
    const expected = runNumpyJson<{ hidden: number[][][]; embeddings: number[][] }>(
      `w = a['w']; cfg = a['cfg']
${NUMPY_MODULES}
${NUMPY_GRU_GPO}
${NUMPY_BERT}
W = {k[5:]: np.array(v, np.float64).reshape(a['shapes'][k[5:]]) for k, v in w.items() if k.startswith('bert.')}
hidden = [bert_hidden(W, cfg, ids) for ids in a['ids']]
emb = [l2n(gpo_pool(lin(h, 'linear'), len(h), 'gpool.')).tolist() for h in hidden]
print(json.dumps({'hidden': [h.tolist() for h in hidden], 'embeddings': emb}))`,
      { w: torchStateDict(enc), cfg: TINY_CONFIG, ids, shapes: Object.fromEntries(bertParameterShapes(tiny)) },
    );
    const { hidden, lengths } = enc.hiddenStates(CAPTIONS, evaluation());
    const values = hidden.arraySync();
    CAPTIONS.forEach((_, b) => assertClose(values[b].slice(0, lengths[b]).flat(), expected.hidden[b].flat(), `hidden states of caption ${b}`, 1e-4, 1e-4));
    assertClose(Array.from(enc.encode(CAPTIONS, evaluation()).dataSync()), expected.embeddings.flat(), 'caption embeddings', 1e-4, 1e-5);
    hidden.dispose();
    enc.dispose();
  });

  it('applies dropout only in training, reproducibly from the Rng; dropout overrides replace config.json values', () => {
    const enc = buildBert({ modelDir: dir, pretrained: false, augment: false });
    const read = (mode: ReturnType<typeof training>) => tf.tidy(() => Array.from(enc.encode(CAPTIONS, mode).dataSync()));
    assert.deepEqual(read(evaluation()), read(evaluation()));
    assert.notDeepEqual(read(training(3)), read(evaluation()));
    assert.deepEqual(read(training(3)), read(training(3)));
    enc.dispose();
    const off = buildBert({ modelDir: dir, pretrained: false, augment: false, hiddenDropout: 0, attentionDropout: 0 });
    assert.equal(off.config.hiddenDropoutProb, 0);
    const offRead = (mode: ReturnType<typeof training>) => tf.tidy(() => Array.from(off.encode(CAPTIONS, mode).dataSync()));
    assertClose(offRead(training(3)), offRead(evaluation()), 'no dropout, no augmentation: training = evaluation', 1e-6, 1e-7);
    off.dispose();
  });

  it("reads a 100-token caption whole by default (the model's position table is the limit); a set maxLength still cuts", () => {
    const long = writeModelDir({ ...TINY_CONFIG, max_position_embeddings: 128 });
    const enc = buildBert({ modelDir: long, pretrained: false });
    assert.equal(enc.maxLength, 128);
    // 13 word pieces per sentence ('rides' is ride ##s, '.' one piece) × 7, then 'a man ride ##s a horse on': 98 pieces.
    const caption = `${'a man rides a horse on the beach by the sea. '.repeat(7)}a man rides a horse on`;
    const batch = enc.tokenize([caption, 'two dogs'], evaluation());
    assert.equal(batch.lengths[0], 100, '[CLS] + 98 pieces + [SEP]');
    assert.equal(batch.width, 100);
    assert.equal(batch.ids[99], enc.tokenizer.sepId);
    const ids = [Array.from(batch.ids.slice(0, 100))];
    const expected = runNumpyJson<number[][]>(
      `w = a['w']; cfg = a['cfg']
${NUMPY_MODULES}
${NUMPY_GRU_GPO}
${NUMPY_BERT}
W = {k[5:]: np.array(v, np.float64).reshape(a['shapes'][k[5:]]) for k, v in w.items() if k.startswith('bert.')}
print(json.dumps([l2n(gpo_pool(lin(bert_hidden(W, cfg, ids), 'linear'), len(ids), 'gpool.')).tolist() for ids in a['ids']]))`,
      {
        w: torchStateDict(enc),
        cfg: { ...TINY_CONFIG, max_position_embeddings: 128 },
        ids,
        shapes: Object.fromEntries(bertParameterShapes({ ...tiny, maxPositionEmbeddings: 128 })),
      },
    );
    const whole = tf.tidy(() => Array.from(enc.encode([caption], evaluation()).dataSync()));
    assertClose(whole, expected[0], 'embedding of the whole 100-token caption', 1e-4, 1e-5);
    const cut = buildBert({ modelDir: long, pretrained: false, maxLength: 32 });
    assert.equal(cut.tokenize([caption], evaluation()).lengths[0], 32);
    const truncated = tf.tidy(() => Array.from(cut.encode([caption], evaluation()).dataSync()));
    assert.ok(
      whole.some((v, i) => Math.abs(v - truncated[i]) > 1e-3),
      'cutting the caption changes its embedding',
    );
    enc.dispose();
    cut.dispose();
  });

  it('refuses a maxLength beyond max_position_embeddings and a config it cannot compute, naming the file', () => {
    assert.throws(() => buildBert({ modelDir: dir, pretrained: false, maxLength: 41 }), /maxLength 41 exceeds max_position_embeddings 40/);
    const bad = writeModelDir({ ...TINY_CONFIG, hidden_act: 'relu' });
    assert.throws(
      () => buildBert({ modelDir: bad, pretrained: false }),
      (e: Error) => e.message.includes(bad) && /hidden_act 'relu' is not supported/.test(e.message),
    );
  });

  for (const backend of TEST_BACKENDS) {
    it(`${backend}: gradients reach BERT, the projection and GPO; frozen BERT gets none and is not trainable`, async () => {
      await tf.setBackend(backend);
      const enc = buildBert({ modelDir: dir, pretrained: false });
      const trainable = enc.parameters().filter((p) => p.trainable);
      const { grads } = tf.variableGrads(() => enc.encode(CAPTIONS, training(2)).sum() as tf.Scalar, trainableVariables(enc));
      for (const p of trainable) {
        const g = grads[p.variable.name];
        assert.ok(g != null && g.abs().max().dataSync()[0] > 0, `no gradient reaches ${p.name}`);
      }
      tf.dispose(grads);
      enc.dispose();

      const frozen = buildBert({ modelDir: dir, pretrained: false, freeze: true });
      const frozenBert = frozen.parameters().filter((p) => p.name.startsWith('bert.'));
      assert.ok(frozenBert.every((p) => !p.trainable && !p.variable.trainable && p.group === TEXT_BACKBONE_GROUP));
      const vars = trainableVariables(frozen);
      assert.equal(vars.length, frozen.parameters().filter((p) => !p.name.startsWith('bert.')).length);
      const frozenGrads = tf.variableGrads(() => frozen.encode(CAPTIONS, training(2)).sum() as tf.Scalar).grads;
      assert.ok(
        frozenBert.every((p) => frozenGrads[p.variable.name] == null),
        'no BERT gradient when frozen',
      );
      assert.ok(frozenGrads[frozen.parameters().find((p) => p.name === 'linear.weight')!.variable.name] != null);
      tf.dispose(frozenGrads);
      frozen.dispose();
    });
  }

  it('wasm: a training step (forward, gradients, update) leaks no tensor', async () => {
    await tf.setBackend('wasm');
    const enc = buildBert({ modelDir: dir, pretrained: false });
    const vars = trainableVariables(enc);
    const optimizer = tf.train.sgd(0.01);
    await expectNoLeak(() => {
      const { value, grads } = tf.variableGrads(() => enc.encode(CAPTIONS, training(5)).sum() as tf.Scalar, vars);
      optimizer.applyGradients(grads);
      tf.dispose(grads);
      value.dispose();
    }, 'BERT training step');
    optimizer.dispose();
    enc.dispose();
  });
});

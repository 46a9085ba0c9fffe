import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { trainableVariables } from '../../../core/nn';
import { createRng } from '../../../core/services/rng';
import { SPECIAL_TOKENS, tokenizeWords } from '../../../plugins/text-encoder/bigru';
import { buildTextEncoder } from '../../support/model-fixtures';
import { evaluation, NUMPY_GRU_GPO, NUMPY_MODULES, torchStateDict, training } from '../../support/plugin-harness';
import { runNumpyJson } from '../../support/python-env';
import { assertClose, restoreBackendAfterSuite, TEST_BACKENDS } from '../../support/tensors';

const CAPTIONS = ['A man rides a horse.', 'A dog runs on the beach', 'Two men ride horses!', 'a dog and a man'];

describe('BigruTextEncoder', () => {
  restoreBackendAfterSuite();
  before(() => tf.setBackend('cpu'));

  it('tokenizes words: lower-case, split on anything not a letter or digit', () => {
    assert.deepEqual(tokenizeWords("A man's 2 HORSES, café-bar!"), ['a', 'man', 's', '2', 'horses', 'café', 'bar']);
  });

  it('builds the vocabulary in prepare(): specials first, then by count (ties alphabetical), min count applied', () => {
    const enc = buildTextEncoder({ minCount: 2 });
    enc.prepare(CAPTIONS);
    // counts: a 5, man 2, dog 2; everything else once.
    assert.deepEqual(enc.tokenizerState().words, [...SPECIAL_TOKENS, 'a', 'dog', 'man']);
    assert.deepEqual(enc.encodeIds('A dog chases a MAN'), [1, 5, 6, 3, 5, 7, 2]);
    const embed = enc.parameters().find((p) => p.name === 'embed.weight')!;
    assert.deepEqual(embed.variable.shape, [8, 5]);
    enc.dispose();
  });

  it('augments words only in training: 20 % picked → ½ <mask>, 1/10 random id, 2/5 deleted; <start>/<end> kept', () => {
    const enc = buildTextEncoder();
    enc.prepare(CAPTIONS);
    const caption = Array.from({ length: 20000 }, () => 'man').join(' ');
    const manId = enc.encodeIds('man')[1];
    const ids = enc.encodeIds(caption, createRng(4));
    assert.equal(ids[0], 1);
    assert.equal(ids[ids.length - 1], 2);
    const words = ids.slice(1, -1);
    const masked = words.filter((i) => i === 4).length / 20000;
    const deleted = 1 - words.length / 20000;
    const replaced = words.filter((i) => i !== 4 && i !== manId).length / 20000;
    assert.ok(Math.abs(masked - 0.1) < 0.01, `masked ${masked}`);
    assert.ok(Math.abs(deleted - 0.08) < 0.01, `deleted ${deleted}`);
    assert.ok(Math.abs(replaced - 0.02 * (1 - 1 / enc.vocabularySize)) < 0.006, `replaced ${replaced}`);
    assert.deepEqual(enc.encodeIds(caption, createRng(4)), ids, 'reproducible from the Rng');
    enc.dispose();
  });

  it('round-trips its tokenizer state and rejects a foreign one', () => {
    const enc = buildTextEncoder();
    enc.prepare(CAPTIONS);
    const other = buildTextEncoder();
    other.loadTokenizerState(JSON.parse(JSON.stringify(enc.tokenizerState())));
    assert.deepEqual(other.encodeIds(CAPTIONS[2]), enc.encodeIds(CAPTIONS[2]));
    assert.throws(() => buildTextEncoder().loadTokenizerState({ kind: 'wordpiece', words: [] }), /not a word vocabulary/);
    assert.throws(() => buildTextEncoder().encode(['a'], evaluation()), /call prepare\(\) or loadTokenizerState\(\) first/);
    enc.dispose();
    other.dispose();
  });

  it('encodes as VSE∞: embeddings → BiGRU, directions averaged → GPO → L2 norm (numpy)', () => {
    const enc = buildTextEncoder();
    enc.prepare(CAPTIONS);
    const sequences = CAPTIONS.map((c) => enc.encodeIds(c));
    const expected = runNumpyJson<number[][]>(
      `w = a['w']\n${NUMPY_MODULES}\n${NUMPY_GRU_GPO}
E = P('embed.weight', (-1, 5)); out = []
for ids in a['ids']:
    h = bigru_mean(E[ids], 'rnn.', 6)
    out.append(l2n(gpo_pool(h, len(ids), 'gpool.')).tolist())
print(json.dumps(out))`,
      { w: torchStateDict(enc), ids: sequences },
    );
    assertClose(Array.from(enc.encode(CAPTIONS, evaluation()).dataSync()), expected.flat(), 'caption embeddings');
    enc.dispose();
  });

  for (const backend of TEST_BACKENDS) {
    it(`${backend}: gradients reach the embeddings, both GRU directions and the GPO`, async () => {
      await tf.setBackend(backend);
      const enc = buildTextEncoder();
      enc.prepare(CAPTIONS);
      const { grads } = tf.variableGrads(() => enc.encode(CAPTIONS, training(2)).sum() as tf.Scalar, trainableVariables(enc));
      for (const p of enc.parameters().filter((q) => q.trainable)) {
        const g = grads[p.variable.name];
        assert.ok(g != null && g.abs().max().dataSync()[0] > 0, `no gradient reaches ${p.name}`);
      }
      tf.dispose(grads);
      enc.dispose();
    });
  }
});

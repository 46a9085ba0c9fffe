import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRng } from '../../../../core/services/rng';
import { captionIds, tokenBatch, WordPieceTokenizer } from '../../../../plugins/text-encoder/bert';
import { runPython } from '../../../support/python-env';
import { miniLmDir, TINY_VOCAB, writeModelDir } from './fixtures';

/** Sentences that exercise every rule of the basic tokenizer and of WordPiece. */
const SENTENCES = [
  'A man rides a horse on the beach.',
  'Two MEN, playing (by the sea)!',
  'Café   déjà-vu\tover\nthe  unaffable dog?',
  "The dog's bowl of soup costs $5...",
  '東京 is a city; 東京タワー too',
  `Control\u0000chars\u200b and \ufffd replacement ${'x'.repeat(101)} end`,
  'unknown € symbol and naïve résumé',
  '',
];

/** Hugging Face's own WordPiece (the Rust `tokenizers` library) on `vocab.txt`; ids with [CLS]/[SEP]. */
function huggingFaceIds(vocabFile: string, sentences: readonly string[]): number[][] {
  const out = runPython(
    `
import json, sys
from tokenizers import BertWordPieceTokenizer
tok = BertWordPieceTokenizer(sys.argv[1], lowercase=True)
print(json.dumps([e.ids for e in tok.encode_batch(json.loads(sys.argv[2]))]))
`,
    [vocabFile, JSON.stringify(sentences)],
  );
  return JSON.parse(out) as number[][];
}

describe('BERT WordPiece tokenizer', () => {
  it('gives the ids of Hugging Face tokenizers on a generated vocabulary', () => {
    const dir = writeModelDir();
    const tokenizer = WordPieceTokenizer.fromVocabFile(join(dir, 'vocab.txt'));
    const expected = huggingFaceIds(join(dir, 'vocab.txt'), SENTENCES);
    SENTENCES.forEach((s, i) => assert.deepEqual(captionIds(tokenizer, s, 512), expected[i], `"${s}" → ${tokenizer.tokens(expected[i]).join(' ')}`));
  });

  it('splits words greedily, longest piece first, with ## continuations; unmatched or >100-char words → [UNK]', () => {
    const tokenizer = new WordPieceTokenizer(TINY_VOCAB);
    const pieces = (w: string) => tokenizer.tokens([...tokenizer.wordPieces(w)]);
    assert.deepEqual(pieces('unaffable'), ['un', '##aff', '##able']);
    assert.deepEqual(pieces('rides'), ['ride', '##s']);
    assert.deepEqual(pieces('zqx'), ['z', '##q', '##x']);
    assert.deepEqual(pieces('a€'), ['[UNK]'], 'one unmatched character makes the whole word [UNK]');
    assert.deepEqual(pieces('a'.repeat(100)).length, 100);
    assert.deepEqual(pieces('a'.repeat(101)), ['[UNK]']);
    assert.deepEqual(tokenizer.basicTokenize('Héllo,wörld! 東京x'), ['hello', ',', 'world', '!', '東', '京', 'x']);
  });

  it('names the file and the missing special tokens of a vocabulary without them', () => {
    const dir = writeModelDir();
    const file = join(dir, 'vocab.txt');
    writeFileSync(file, '[PAD]\n[UNK]\nhello\n');
    assert.throws(
      () => WordPieceTokenizer.fromVocabFile(file),
      (e: Error) => e.message.includes(file) && /lacks \[CLS\], \[SEP\], \[MASK\]/.test(e.message),
    );
  });

  it('batches: [CLS] … [SEP], truncation to maxLength, [PAD] = 0 padding, mask = id ≠ 0, lengths count [CLS]/[SEP]', () => {
    const tokenizer = new WordPieceTokenizer(TINY_VOCAB);
    const batch = tokenBatch(tokenizer, ['a man', 'the dog runs on the beach by the sea'], 6);
    assert.equal(batch.width, 6);
    assert.deepEqual(Array.from(batch.lengths), [4, 6]);
    assert.deepEqual(tokenizer.tokens(Array.from(batch.ids.slice(0, 6))), ['[CLS]', 'a', 'man', '[SEP]', '[PAD]', '[PAD]']);
    assert.deepEqual(tokenizer.tokens(Array.from(batch.ids.slice(6))), ['[CLS]', 'the', 'dog', 'run', '##s', '[SEP]']);
    assert.deepEqual(Array.from(batch.mask), [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1]);
  });

  it('augments whole words at sub-token level: 20 % picked → ½ [MASK] per piece, 1/10 random ids per piece, 2/5 deleted', () => {
    const tokenizer = new WordPieceTokenizer(TINY_VOCAB);
    const words = 20000;
    const caption = Array.from({ length: words }, () => 'unaffable').join(' '); // 3 pieces per word
    const ids = captionIds(tokenizer, caption, 1e9, { rng: createRng(4), probability: 0.2 });
    assert.equal(ids[0], tokenizer.clsId);
    assert.equal(ids[ids.length - 1], tokenizer.sepId);
    const body = ids.slice(1, -1);
    const [un, aff, able] = tokenizer.wordPieces('unaffable');
    // Walk the output: every word is exactly three ids (kept, masked or random) or absent (deleted).
    let kept = 0;
    let masked = 0;
    let random = 0;
    for (let i = 0; i < body.length; i += 3) {
      const w = body.slice(i, i + 3);
      if (w[0] === un && w[1] === aff && w[2] === able) kept++;
      else if (w.every((id) => id === tokenizer.maskId)) masked++;
      else random++;
    }
    assert.equal(body.length % 3, 0, 'a picked word is replaced piece by piece, never partly');
    const deleted = words - kept - masked - random;
    assert.ok(Math.abs(masked / words - 0.1) < 0.01, `masked ${masked / words}`);
    assert.ok(Math.abs(random / words - 0.02) < 0.005, `random ${random / words}`);
    assert.ok(Math.abs(deleted / words - 0.08) < 0.01, `deleted ${deleted / words}`);
    assert.deepEqual(captionIds(tokenizer, caption, 1e9, { rng: createRng(4), probability: 0.2 }), ids, 'reproducible from the Rng');
    assert.deepEqual(captionIds(tokenizer, caption, 1e9).length, 2 + 3 * words, 'no augmentation without an Rng');
  });

  it('@slow gives the ids of Hugging Face tokenizers with the real all-MiniLM-L6-v2 (bert-base-uncased) vocabulary', () => {
    const dir = miniLmDir();
    const tokenizer = WordPieceTokenizer.fromVocabFile(join(dir, 'vocab.txt'));
    const captions = [
      ...SENTENCES,
      'A skateboarder performs a kickflip over a fire hydrant.',
      'Two giraffes standing next to each other in a zoo enclosure',
      "A close-up of a man's hand holding a smartphone, 3:45pm",
    ];
    const expected = huggingFaceIds(join(dir, 'vocab.txt'), captions);
    captions.forEach((s, i) => assert.deepEqual(captionIds(tokenizer, s, 512), expected[i], `"${s}" → ${tokenizer.tokens(expected[i]).join(' ')}`));
  });
});

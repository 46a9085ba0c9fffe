/**
 * Floating-point operations of one training step of the benchmark model (bench/model.ts), counted analytically
 * block by block. Only products are counted (a multiply-add is 2 FLOPs): elementwise ops, norms, softmax, sorting
 * and the optimizer are memory-bound and below 1 % of the total at these sizes.
 *
 * Backward: a product `Y = X·W` costs its forward twice (dX = dY·Wᵀ and dW = Xᵀ·dY), once when X is data that
 * needs no gradient (the region features, the segmentation inputs, the first layer of each branch).
 */
import { COCO_INFO } from '../test/support/plugin-harness';
import { BERT_BASE, EMBED_DIM, REGIONS } from './model';

export interface BlockFlops {
  block: string;
  forward: number;
  backward: number;
}

/** 2·rows·in·out: a Linear layer on `rows` rows. */
const linear = (rows: number, inDim: number, outDim: number) => 2 * rows * inDim * outDim;
/** The reference's two-layer MLP (in → hidden → out), BatchNorm and ReLU aside. */
const mlp = (rows: number, inDim: number, hidden: number, outDim: number) => linear(rows, inDim, hidden) + linear(rows, hidden, outDim);

/** A block whose input carries a gradient (backward = 2× forward), or not (`dataInput`: backward = 1×). */
function block(name: string, forward: number, dataInput = false): BlockFlops {
  return { block: name, forward, backward: (dataInput ? 1 : 2) * forward };
}

/**
 * The 3SHNet image encoder on a batch of `b` images (R = 36 regions of F = 2048, D = 1024, C = 133 classes,
 * g×g = 7×7 grid, m×m = 64×64 label map, k = 128, position code 8, GPO over S = 1 + 2R + g² tokens).
 */
export function imageEncoderFlops(b: number): BlockFlops[] {
  const { numClasses: c, gridSize: g, featureDim } = COCO_INFO;
  const f = featureDim!;
  const [r, d, k, pos, pixels] = [REGIONS, EMBED_DIM, 128, 8, COCO_INFO.mapSize ** 2];
  const tokens = 1 + 2 * r + g * g;
  return [
    // V0 = fc(regions), V = V0 + MLP(F→D/2→D)(regions): both read the features, which need no gradient.
    block('fc + region MLP (F→D, F→D/2→D)', linear(b * r, f, d) + mlp(b * r, f, d / 2, d), true),
    // Category token Linear(C→D) and grid tokens Linear(C→D) on g² cells: inputs are data.
    block('category + grid embeddings (C→D)', linear(b, c, d) + linear(b * g * g, c, d), true),
    block('grid MLP (D→D/2→D)', mlp(b * g * g, d, d / 2, d)),
    // VSeM: X = V0 + MLP(V0); query Linear(C→D) + MLP on one token; fc_scale and fc_1 (D→D) on every region.
    block('VSeM (semantic highlight)', mlp(b * r, d, d / 2, d) + linear(b, c, d) + mlp(b, d, d / 2, d) + 2 * linear(b * r, d, d)),
    // VSpM: query MLP(D→D/2→k); conv 3×3 over (label ⧺ position code) → k (label channel per image, code channels
    // once per batch; inputs are data); logits Q·Kᵀ and A·K over m² pixels; out MLP(k→D/2→D).
    block('VSpM query + output MLPs', mlp(b * r, d, d / 2, k) + mlp(b * r, k, d / 2, d)),
    block('VSpM conv 3×3 (1+8 → k)', 2 * pixels * 9 * k * (b * 1 + pos), true),
    block('VSpM attention (R × m² × k, twice)', 2 * linear(b * r, k, pixels)),
    block('fusion MLP (D→D/2→D)', mlp(b * r, d, d / 2, d)),
    // GPO: the weighted sum over sorted tokens (the BiGRU over position codes is per distinct length, ~1 MFLOP).
    block('GPO pooling', 2 * b * tokens * d),
  ];
}

/** The BERT-base text encoder on `b` captions padded to `t` tokens: 12 layers, H = 768, then Linear(H→D) and GPO. */
export function bertFlops(b: number, t: number): BlockFlops[] {
  const h = BERT_BASE.hidden_size;
  const layers = BERT_BASE.num_hidden_layers;
  const rows = b * t;
  return [
    // Q, K, V and the output projection: 4 H×H products per token per layer.
    block('BERT attention projections (4·H²)', layers * 4 * linear(rows, h, h)),
    // Scores Q·Kᵀ and the weighted sum A·V, per head, summed over heads: 2·T·H per token each.
    block('BERT attention scores (2 · T·H)', layers * 2 * 2 * b * t * t * h),
    block('BERT feed-forward (H→4H→H)', layers * mlp(rows, h, BERT_BASE.intermediate_size, h)),
    block('projection H→D + GPO', linear(rows, h, EMBED_DIM) + 2 * rows * EMBED_DIM),
  ];
}

/** The BiGRU text encoder (word width 300, hidden D per direction) on `b` captions of `t` words. */
export function bigruFlops(b: number, t: number): BlockFlops[] {
  const [w, hidden] = [300, EMBED_DIM];
  // Two directions, three gates: input product 300→3H and recurrent H→3H per word; word embeddings are a gather.
  return [block('BiGRU (2 directions × (300→3H + H→3H))', 2 * (linear(b * t, w, 3 * hidden) + linear(b * t, hidden, 3 * hidden)))];
}

/** The hinge triplet loss: the [B, B] similarity matrix. */
export function lossFlops(b: number): BlockFlops[] {
  return [block('triplet loss (B×B similarities)', linear(b, EMBED_DIM, b))];
}

/** Every block of one training step. */
export function trainingStepFlops(b: number, tokens: number, text: 'bert' | 'bigru'): { image: BlockFlops[]; text: BlockFlops[]; loss: BlockFlops[] } {
  return { image: imageEncoderFlops(b), text: text === 'bert' ? bertFlops(b, tokens) : bigruFlops(b, tokens), loss: lossFlops(b) };
}

/** Forward + backward FLOPs of some blocks. */
export function total(blocks: readonly BlockFlops[], pass: 'forward' | 'both' = 'both'): number {
  return blocks.reduce((s, x) => s + x.forward + (pass === 'both' ? x.backward : 0), 0);
}

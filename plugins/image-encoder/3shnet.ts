import {
  type Aggregator,
  type Backbone,
  Block,
  DATA_INFO,
  type DataInfo,
  definePlugin,
  dropout,
  type ForwardMode,
  type HighlightModule,
  type ImageEncoder,
  type ImageInputs,
  inject,
  injectable,
  l2Normalize,
  LayerNorm,
  Linear,
  Mlp,
  NODE_PATH,
  PLUGIN_ARGS,
  PLUGIN_PARTS,
  type Rng,
  RNG,
  type Segmentation,
  type Segmenter,
  type Static,
  tf,
  Type,
  UsageError,
  type NodeCheck,
  type CheckProblem,
} from 'shnet';

export const shnetImageEncoderOptions = Type.Object(
  {
    embedDim: Type.Integer({ minimum: 2, multipleOf: 2, default: 1024, description: 'Joint embedding width D.' }),
    categoryToken: Type.Boolean({ default: true, description: 'Prepend the category token c (needs a segmenter).' }),
    segmentGridTokens: Type.Boolean({ default: true, description: 'Add the g² segmentation-grid tokens G (needs a segmenter).' }),
    dropout: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.1, description: 'Dropout in the 133→D embeddings.' }),
  },
  { additionalProperties: false },
);

/** The built child nodes of this encoder (absent optional slots are null). */
export interface ShnetImageEncoderParts {
  readonly backbone: Backbone;
  readonly segmenter: Segmenter | null;
  readonly 'highlight.semantic': HighlightModule | null;
  readonly 'highlight.spatial': HighlightModule | null;
  readonly aggregator: Aggregator;
}

/**
 * The 3SHNet image encoder (docs/model.md, reference `EncoderImageAggr`):
 *   V0 = fc(regions);  V = V0 + MLP(F→D/2→D)(regions);
 *   c = LN(Dropout(ReLU(Linear(C→D)(categories))));  G = G0 + MLP(G0), G0 = LN(Dropout(ReLU(Linear(C→D)(grid tokens))));
 *   F = MLP(D→D/2→D)(VSeM(V0) + VSpM(V0) + V);
 *   tokens = [c | V_1..L | F_1..L | G | padded V | padded F],  v = GPO(tokens, 2L+50) / (‖·‖ + 1e-8).
 *
 * Ablations: each token group and each highlight can be switched off. With no segmenter, no highlight and both
 * token options off this is exactly the VSE∞ region encoder (fc + residual MLP + GPO). The fusion MLP exists only
 * when at least one highlight does (F then sums the highlights present and V).
 *
 * Parameters (reference names): `fc.*`, `mlp.*`, `embed_category.0.*`/`.3.*`, `embed_seg_C.1.*`/`.4.*`, `seg_mlp.*`,
 * `fusion_mlp.*`, and the slots under `backbone.`, `segmenter.`, `crossmodalfusion_sm.`, `crossmodalfusion_sp.`,
 * `gpool.`.
 */
@injectable()
export class ShnetImageEncoder extends Block implements ImageEncoder {
  readonly embedDim: number;
  private readonly fc: Linear;
  private readonly mlp: Mlp;
  private readonly category: { embed: Linear; norm: LayerNorm } | null;
  private readonly grid: { embed: Linear; norm: LayerNorm; mlp: Mlp } | null;
  private readonly fusionMlp: Mlp | null;

  constructor(
    @inject(PLUGIN_ARGS) private readonly args: Static<typeof shnetImageEncoderOptions>,
    @inject(PLUGIN_PARTS) private readonly parts: ShnetImageEncoderParts,
    @inject(DATA_INFO) info: DataInfo,
    @inject(RNG) rng: Rng,
    @inject(NODE_PATH) path: string,
  ) {
    super();
    const d = args.embedDim;
    this.embedDim = d;
    const needsSegmentation = [
      args.categoryToken && 'categoryToken',
      args.segmentGridTokens && 'segmentGridTokens',
      parts['highlight.semantic'] && 'highlight.semantic',
      parts['highlight.spatial'] && 'highlight.spatial',
    ].filter(Boolean);
    if (parts.segmenter == null && needsSegmentation.length > 0) {
      throw new UsageError(
        `${path}: ${needsSegmentation.join(', ')} need segmentation, but the 'segmenter' slot is null ` + `(set a segmenter, or switch these off)`,
      );
    }
    const featureDim = parts.backbone.outputDim;
    const init = rng.fork(`init:${path}`);
    // Reference construction order: seg-grid embedding, category embedding, fc, mlp, seg_mlp, fusion_mlp.
    const gridEmbed = args.segmentGridTokens
      ? {
          embed: this.addChild('embed_seg_C.1', new Linear(info.numClasses, d, init)),
          norm: this.addChild('embed_seg_C.4', new LayerNorm(d)),
        }
      : null;
    this.category = args.categoryToken
      ? {
          embed: this.addChild('embed_category.0', new Linear(info.numClasses, d, init)),
          norm: this.addChild('embed_category.3', new LayerNorm(d)),
        }
      : null;
    this.fc = this.addChild('fc', new Linear(featureDim, d, init, { init: 'xavier' }));
    this.mlp = this.addChild('mlp', new Mlp(featureDim, d / 2, d, init));
    this.grid = gridEmbed ? { ...gridEmbed, mlp: this.addChild('seg_mlp', new Mlp(d, d / 2, d, init)) } : null;
    this.fusionMlp = parts['highlight.semantic'] || parts['highlight.spatial'] ? this.addChild('fusion_mlp', new Mlp(d, d / 2, d, init)) : null;
    this.addChild('backbone', parts.backbone);
    if (parts.segmenter) this.addChild('segmenter', parts.segmenter);
    if (parts['highlight.semantic']) this.addChild('crossmodalfusion_sm', parts['highlight.semantic']);
    if (parts['highlight.spatial']) this.addChild('crossmodalfusion_sp', parts['highlight.spatial']);
    this.addChild('gpool', parts.aggregator);
  }

  /** @returns L2-normalised image embeddings `[B, D]` */
  encode(inputs: ImageInputs, mode: ForwardMode): tf.Tensor2D {
    const { features: regions, lengths } = this.parts.backbone.extract(inputs, mode);
    try {
      return tf.tidy(() => {
        // Inside the scope: a segmenter that computes its outputs (from a label map, from pixels) returns new
        // tensors, released here; one that returns the batch's own tensors leaves them to their owner.
        const segmentation = this.parts.segmenter?.segment(inputs, mode) ?? null;
        const { tokens, tokenLengths } = this.tokenSet(regions, lengths, segmentation, mode);
        return l2Normalize(this.parts.aggregator.pool(tokens, tokenLengths, mode));
      });
    } finally {
      regions.dispose();
    }
  }

  /**
   * The compacted token set (docs/model.md, the image encoder's token compaction).
   * @returns tokens `[B, S, D]` (S = c + 2R + g² with everything on), valid tokens first; their counts `[B]`
   */
  tokenSet(regions: tf.Tensor3D, lengths: Int32Array, segmentation: Segmentation | null, mode: ForwardMode): { tokens: tf.Tensor3D; tokenLengths: Int32Array } {
    const [b, r] = regions.shape;
    const d = this.embedDim;
    const v0 = this.fc.apply(regions);
    // Dropout draws follow the reference's forward order: category, grid, then the highlights.
    const c = this.category && segmentation ? this.embedTokens(this.category, segmentation.categories, mode) : null;
    let g: tf.Tensor3D | null = null;
    if (this.grid && segmentation) {
      const [, classes, gh, gw] = segmentation.classGrid.shape;
      const gridTokens = segmentation.classGrid.reshape([b, classes, gh * gw]).transpose([0, 2, 1]) as tf.Tensor3D;
      const g0 = this.embedTokens(this.grid, gridTokens, mode);
      g = g0.add(this.grid.mlp.apply(g0, mode.training)) as tf.Tensor3D;
    }
    const highlighted = (['highlight.semantic', 'highlight.spatial'] as const)
      .map((slot) => this.parts[slot]?.highlight(v0, lengths, segmentation as Segmentation, mode))
      .filter((t): t is tf.Tensor3D => t != null);
    const v = this.mlp.apply(regions, mode.training).add(v0) as tf.Tensor3D;
    const f = this.fusionMlp ? this.fusionMlp.apply(tf.addN([...highlighted, v]) as tf.Tensor3D, mode.training) : null;

    const groups: tf.Tensor3D[] = [];
    if (c) groups.push(c.reshape([b, 1, d]));
    groups.push(v);
    if (f) groups.push(f);
    if (g) groups.push(g);
    const source = groups.length === 1 ? groups[0] : (tf.concat(groups, 1) as tf.Tensor3D);
    const layout = { category: c ? 1 : 0, regions: r, fused: f != null, grid: g ? g.shape[1] : 0 };
    const { order, counts } = compactionOrder(lengths, layout);
    const tokens =
      order == null ? source : (tf.gather(source.reshape([b * source.shape[1], d]), tf.tensor1d(order, 'int32')).reshape(source.shape) as tf.Tensor3D);
    return { tokens, tokenLengths: counts };
  }

  /** `LN(Dropout(ReLU(Linear(x))))` for the category vector `[B, C]` → `[B, D]` or grid tokens `[B, g², C]` → `[B, g², D]`. */
  private embedTokens<T extends tf.Tensor2D | tf.Tensor3D>(block: { embed: Linear; norm: LayerNorm }, x: T, mode: ForwardMode): T {
    return block.norm.apply(dropout(tf.relu(block.embed.apply(x)), this.args.dropout, mode));
  }
}

/**
 * Flat source rows of the compacted token set. The source of row b is laid out `[c? | V_0..V_{R−1} | F? | G]`;
 * the output is `[c | V_0..V_{L−1} | F_0..F_{L−1} | G | V_L..V_{R−1} | F_L..F_{R−1}]`, the reference's order.
 * @returns `order` (null when every row is full, so the layout is already compact) and valid counts per row
 */
export function compactionOrder(
  lengths: Int32Array,
  layout: { category: number; regions: number; fused: boolean; grid: number },
): { order: Int32Array | null; counts: Int32Array } {
  const { category, regions: r, fused, grid } = layout;
  const width = category + r * (fused ? 2 : 1) + grid;
  const counts = Int32Array.from(lengths, (n) => category + n * (fused ? 2 : 1) + grid);
  if (lengths.every((n) => n === r)) return { order: null, counts };
  const order = new Int32Array(lengths.length * width);
  lengths.forEach((n, b) => {
    const base = b * width;
    const vStart = base + category;
    const fStart = vStart + r;
    const gStart = fStart + (fused ? r : 0);
    const rows: number[] = [];
    for (let i = 0; i < category; i++) rows.push(base + i);
    for (let i = 0; i < n; i++) rows.push(vStart + i);
    if (fused) for (let i = 0; i < n; i++) rows.push(fStart + i);
    for (let i = 0; i < grid; i++) rows.push(gStart + i);
    for (let i = n; i < r; i++) rows.push(vStart + i);
    if (fused) for (let i = n; i < r; i++) rows.push(fStart + i);
    order.set(rows, base);
  });
  return { order, counts };
}

/**
 * Before anything is built: every highlight works at the encoder's width D, and the tokens and highlights that read
 * the segmentation need a segmenter (the constructor enforces the same, for nodes built without validation).
 */
const checkShnetImageEncoder: NodeCheck = ({ node, path }) => {
  const problems: CheckProblem[] = [];
  const d = node.args.embedDim;
  for (const slot of ['highlight.semantic', 'highlight.spatial']) {
    const width = node.slots[slot]?.args.embedDim;
    if (typeof width === 'number' && width !== d) {
      problems.push({
        path: `${path}.${slot}.args.embedDim`,
        message: `${width} differs from the encoder's width ${d} (${path}.args.embedDim): a highlight works on the encoder's D-wide regions`,
      });
    }
  }
  const needsSegmentation = [
    node.args.categoryToken === true && 'args.categoryToken',
    node.args.segmentGridTokens === true && 'args.segmentGridTokens',
    node.slots['highlight.semantic'] && 'highlight.semantic',
    node.slots['highlight.spatial'] && 'highlight.spatial',
  ].filter((x): x is string => typeof x === 'string');
  if (node.slots.segmenter === null && needsSegmentation.length > 0) {
    problems.push({
      path: `${path}.segmenter`,
      message: `is null, but ${needsSegmentation.join(', ')} need segmentation (set a segmenter, or switch these off)`,
    });
  }
  return problems;
};

export const shnetImageEncoderSpec = definePlugin({
  kind: 'image-encoder',
  name: '3shnet',
  doc: '3SHNet image encoder: regions + semantic/spatial highlights + segmentation tokens, pooled by GPO.',
  version: '1.0.0',
  options: shnetImageEncoderOptions,
  slots: {
    backbone: { kind: 'backbone', doc: 'Region or grid features [B, R, F].' },
    segmenter: { kind: 'segmenter', optional: true, doc: 'Segmentation inputs; needed by the highlights and extra tokens.' },
    'highlight.semantic': { kind: 'highlight', optional: true, doc: 'VSeM (semantic self-highlighting).' },
    'highlight.spatial': { kind: 'highlight', optional: true, doc: 'VSpM (spatial self-highlighting).' },
    aggregator: { kind: 'aggregator', doc: 'Pools the token set into one vector (GPO in the reference).' },
  },
  plugin: ShnetImageEncoder,
  check: checkShnetImageEncoder,
});

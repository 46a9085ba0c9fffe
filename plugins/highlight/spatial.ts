import {
  BatchNorm,
  Block,
  Conv2d,
  DATA_INFO,
  type DataInfo,
  definePlugin,
  type ForwardMode,
  type HighlightModule,
  inject,
  injectable,
  lengthMask,
  Mlp,
  NODE_PATH,
  PLUGIN_ARGS,
  type Rng,
  RNG,
  type Segmentation,
  sinusoidalEncoding,
  type Static,
  tf,
  Type,
  UsageError,
} from 'shnet';

export const spatialHighlightOptions = Type.Object(
  {
    embedDim: Type.Integer({ minimum: 2, default: 1024, description: "Region embedding width D (the image encoder's)." }),
    keyDim: Type.Integer({ minimum: 1, default: 128, description: 'Width of region queries and pixel keys.' }),
    lambda: Type.Number({ default: 4, description: "Attention sharpness λ (the reference's lambda_softmax)." }),
    positionDim: Type.Integer({ minimum: 2, multipleOf: 2, default: 8, description: 'Width of the pixel position code.' }),
  },
  { additionalProperties: false },
);

/**
 * VSpM, visual spatial self-highlighting (docs/model.md, reference `Crossmodal_Fusion4_sp.CrossmodalFusion_sp`):
 *   Q = MLP(D→D/2→k)(V0);  map M [m, m] (raw class ids) ⧺ sinusoidal code of the raster position (width 8)
 *   → K = ReLU(BN2d(Conv3×3(9→k)));  A = softmax_pixels(λ·Q Kᵀ/√k);  out = MLP(k→D/2→D)(A K ⊙ mask + Q).
 *
 * Map size: the reference hard-codes the position code to 64·64 positions, so its maps must be 64×64. Here the
 * code covers `DataInfo.mapSize`² positions, so another map size works; at 64 it is identical to the reference.
 * Padded regions come out as MLP(Q) (non-zero), as in the reference (they enter downstream BatchNorm statistics).
 *
 * Parameters (reference names): `MLP_image.*`, `embedding_Seg.0.*` (conv), `embedding_Seg.1.*` (BatchNorm2d),
 * `embed_fusion.*`.
 */
@injectable()
export class SpatialHighlight extends Block implements HighlightModule {
  private readonly queryMlp: Mlp;
  private readonly conv: Conv2d;
  private readonly convNorm: BatchNorm;
  private readonly fusionMlp: Mlp;
  private readonly mapSize: number;
  /** `[m², positionDim]` position code of every pixel, raster order (p = row·m + col). */
  private readonly positionCode: Float32Array;

  constructor(
    @inject(PLUGIN_ARGS) private readonly args: Static<typeof spatialHighlightOptions>,
    @inject(DATA_INFO) info: DataInfo,
    @inject(RNG) rng: Rng,
    @inject(NODE_PATH) path: string,
  ) {
    super();
    const { embedDim: d, keyDim: k } = args;
    const init = rng.fork(`init:${path}`);
    this.mapSize = info.mapSize;
    this.positionCode = sinusoidalEncoding(info.mapSize * info.mapSize, args.positionDim);
    this.queryMlp = this.addChild('MLP_image', new Mlp(d, d / 2, k, init));
    this.conv = this.addChild('embedding_Seg.0', new Conv2d(1 + args.positionDim, k, 3, init));
    this.convNorm = this.addChild('embedding_Seg.1', new BatchNorm(k));
    this.fusionMlp = this.addChild('embed_fusion', new Mlp(k, d / 2, d, init));
  }

  /**
   * @param regions `[B, R, D]` V0 (the fc output)
   * @param lengths `[B]` valid regions
   * @param segmentation uses `labelMap` `[B, m, m]`
   * @returns `[B, R, D]`
   */
  highlight(regions: tf.Tensor3D, lengths: Int32Array, segmentation: Segmentation, mode: ForwardMode): tf.Tensor3D {
    const [b, m, m2] = segmentation.labelMap.shape;
    if (m !== this.mapSize || m2 !== this.mapSize) {
      throw new UsageError(`highlight "spatial": label map is ${m}×${m2}, but DataInfo.mapSize is ${this.mapSize}`);
    }
    return tf.tidy(() => {
      const r = regions.shape[1];
      const k = this.args.keyDim;
      const pixels = m * m;
      const queries = this.queryMlp.apply(regions, mode.training); // [B, R, k]
      // The conv input is the label map ⧺ the position code (the reference's NCHW view, channels last); the code is
      // the same for every image, so its channels are convolved once for the batch.
      const code = tf.tensor4d(this.positionCode, [1, m, m, this.args.positionDim]);
      const labels = segmentation.labelMap.reshape([b, m, m, 1]) as tf.Tensor4D;
      const keys = tf.relu(this.convNorm.apply(this.conv.applyWithSharedChannels(labels, code), mode.training)).reshape([b, pixels, k]);
      const logits = tf.matMul(queries, keys, false, true).mul(this.args.lambda / Math.sqrt(k)); // [B, R, m²]
      const context = tf.matMul(tf.softmax(logits, -1), keys); // [B, R, k]
      const mask = lengthMask(lengths, r).expandDims(2);
      return this.fusionMlp.apply(context.mul(mask).add(queries) as tf.Tensor3D, mode.training);
    });
  }
}

export const spatialHighlightSpec = definePlugin({
  kind: 'highlight',
  name: 'spatial',
  doc: 'VSpM: region-to-pixel attention over a conv-embedded segmentation label map with position codes.',
  version: '1.0.0',
  options: spatialHighlightOptions,
  plugin: SpatialHighlight,
});

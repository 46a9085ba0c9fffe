import {
  Block,
  DATA_INFO,
  type DataInfo,
  definePlugin,
  dropout,
  type ForwardMode,
  type HighlightModule,
  inject,
  injectable,
  LayerNorm,
  lengthMask,
  Linear,
  Mlp,
  NODE_PATH,
  PLUGIN_ARGS,
  type Rng,
  RNG,
  type Segmentation,
  type Static,
  tf,
  Type,
} from 'shnet';

export const semanticHighlightOptions = Type.Object(
  {
    embedDim: Type.Integer({ minimum: 2, default: 1024, description: "Region embedding width D (the image encoder's)." }),
    dropout: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.1, description: 'Dropout in the query embedding.' }),
  },
  { additionalProperties: false },
);

/**
 * VSeM, visual semantic self-highlighting (docs/model.md, reference `Crossmodal_Fusion4_sm.CrossmodalFusion`):
 *   X = V0 + MLP(V0);  q = q0 + MLP(q0),  q0 = LN(Dropout(ReLU(Linear(C→D)(avg-pool g×g of the class grid))));
 *   a_r = σ(X_r·q/√D) (a sigmoid gate, 0 on padded regions);  Xw = a ⊙ X;
 *   out = ReLU(fc_1(Xw ⊙ tanh(fc_scale(Xw)) + q·mask)).
 *
 * Padded regions come out as ReLU(fc_1.bias), not zero, exactly as in the reference: they reach the fusion MLP's
 * BatchNorm statistics downstream, so zeroing them would change the valid outputs in training.
 *
 * Parameters (reference names): `MLP_image.*`, `MLP_seg.*`, `embed_seg_HW.2.*` (Linear), `embed_seg_HW.5.*` (LayerNorm),
 * `fc_scale.*`, `fc_1.*`.
 */
@injectable()
export class SemanticHighlight extends Block implements HighlightModule {
  private readonly regionMlp: Mlp;
  private readonly queryMlp: Mlp;
  private readonly queryEmbed: Linear;
  private readonly queryNorm: LayerNorm;
  private readonly scale: Linear;
  private readonly refine: Linear;

  constructor(
    @inject(PLUGIN_ARGS) private readonly args: Static<typeof semanticHighlightOptions>,
    @inject(DATA_INFO) info: DataInfo,
    @inject(RNG) rng: Rng,
    @inject(NODE_PATH) path: string,
  ) {
    super();
    const d = args.embedDim;
    const init = rng.fork(`init:${path}`);
    this.regionMlp = this.addChild('MLP_image', new Mlp(d, d / 2, d, init));
    this.queryMlp = this.addChild('MLP_seg', new Mlp(d, d / 2, d, init));
    this.queryEmbed = this.addChild('embed_seg_HW.2', new Linear(info.numClasses, d, init));
    this.queryNorm = this.addChild('embed_seg_HW.5', new LayerNorm(d));
    this.scale = this.addChild('fc_scale', new Linear(d, d, init));
    this.refine = this.addChild('fc_1', new Linear(d, d, init));
  }

  /**
   * @param regions `[B, R, D]` V0 (the fc output)
   * @param lengths `[B]` valid regions
   * @param segmentation uses `classGrid` `[B, C, g, g]`
   * @returns `[B, R, D]`
   */
  highlight(regions: tf.Tensor3D, lengths: Int32Array, segmentation: Segmentation, mode: ForwardMode): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, r, d] = regions.shape;
      const x = regions.add(this.regionMlp.apply(regions, mode.training));
      const pooled = segmentation.classGrid.mean([2, 3]) as tf.Tensor2D; // AvgPool2d(7) over the whole g×g grid
      const q0 = this.queryNorm.apply(dropout(tf.relu(this.queryEmbed.apply(pooled)), this.args.dropout, mode)).reshape([b, 1, d]) as tf.Tensor3D;
      const q = q0.add(this.queryMlp.apply(q0, mode.training)); // [B, 1, D]
      const mask = lengthMask(lengths, r).expandDims(2); // [B, R, 1]
      const gate = tf.sigmoid(x.mul(q).sum(2, true).div(Math.sqrt(d))).mul(mask); // σ(−∞) = 0 on padding
      const weighted = x.mul(gate);
      const scaling = tf.tanh(this.scale.apply(weighted));
      return tf.relu(this.refine.apply(weighted.mul(scaling).add(q.mul(mask)))) as tf.Tensor3D;
    });
  }
}

export const semanticHighlightSpec = definePlugin({
  kind: 'highlight',
  name: 'semantic',
  doc: 'VSeM: a sigmoid gate per region from the pooled segmentation query, then a tanh-scaled refine.',
  version: '1.0.0',
  options: semanticHighlightOptions,
  plugin: SemanticHighlight,
});

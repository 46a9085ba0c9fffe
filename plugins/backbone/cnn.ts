import {
  type Backbone,
  BatchNorm,
  Block,
  Conv2d,
  DATA_INFO,
  type DataInfo,
  definePlugin,
  type ForwardMode,
  type ImageInputs,
  inject,
  injectable,
  NODE_PATH,
  PLUGIN_ARGS,
  type RegionFeatures,
  type Rng,
  RNG,
  type Static,
  tf,
  Type,
  UsageError,
  type NodeCheck,
} from 'shnet';

export const cnnBackboneOptions = Type.Object(
  {
    channels: Type.Array(Type.Integer({ minimum: 1 }), {
      minItems: 1,
      maxItems: 6,
      default: [16, 32, 64],
      description: 'Width of each stage; every stage halves the map (conv 3×3 stride 2 + BatchNorm + ReLU).',
    }),
    output: Type.Union([Type.Literal('grid'), Type.Literal('regions')], {
      default: 'grid',
      description: "'grid': every cell of the last map is a token [B, g², F]; 'regions': the cells inside each box, averaged [B, R, F].",
    }),
  },
  { additionalProperties: false },
);

/** One stage: conv 3×3 stride 2 (padding 1), BatchNorm2d, ReLU. */
class CnnStage extends Block {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm;

  constructor(inChannels: number, outChannels: number, rng: Rng) {
    super();
    this.conv = this.addChild('conv', new Conv2d(inChannels, outChannels, 3, rng, 2));
    this.bn = this.addChild('bn', new BatchNorm(outChannels));
  }

  /** `[B, H, W, in]` → `[B, ⌈H/2⌉, ⌈W/2⌉, out]` */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => tf.relu(this.bn.apply(this.conv.apply(x), training)));
  }
}

/**
 * A small trainable CNN from pixels: the end-to-end counterpart of precomputed BUTD regions (the grid variant of
 * docs/model.md, learned here instead of a frozen X-101). Stages of conv 3×3 stride 2 + BatchNorm + ReLU take `[B, S, S, 3]`
 * to a `[B, g, g, F]` map (g = S / 2^stages, rounded up; F the last width). Output:
 *
 * - `grid`: every cell a token, `[B, g², F]`, row-major over the map;
 * - `regions`: one token per box of the batch (`ImageInputs.boxes`, e.g. the ground-truth object boxes of
 *   `shapes`), the mean of the map's cells inside it ({@link boxPoolingWeights}), `[B, R, F]`; differentiable in the
 *   map, so the CNN trains through the pooling.
 *
 * Parameters: `stages.<i>.conv.{weight,bias}`, `stages.<i>.bn.{weight,bias,running_mean,running_var,num_batches_tracked}`.
 */
@injectable()
export class CnnBackbone extends Block implements Backbone {
  readonly outputDim: number;
  /** Side g of the last feature map. */
  readonly gridSize: number;
  private readonly stages: CnnStage[] = [];

  constructor(
    @inject(PLUGIN_ARGS) private readonly args: Static<typeof cnnBackboneOptions>,
    @inject(DATA_INFO) info: DataInfo,
    @inject(RNG) rng: Rng,
    @inject(NODE_PATH) path: string,
  ) {
    super();
    if (info.imageSize == null) throw new UsageError(`${path}: backbone "cnn" needs a data set with pixels (DataInfo.imageSize is unset)`);
    const init = rng.fork(`init:${path}`);
    let width = 3;
    args.channels.forEach((out, i) => {
      this.stages.push(this.addChild(`stages.${i}`, new CnnStage(width, out, init)));
      width = out;
    });
    this.outputDim = width;
    this.gridSize = args.channels.reduce((side) => Math.ceil(side / 2), info.imageSize);
  }

  /**
   * @returns `grid`: features `[B, g², F]`, every length g²; `regions`: features `[B, R, F]` (zero past each
   *   image's length), lengths from `ImageInputs.regionLengths` (all R when absent)
   */
  extract(inputs: ImageInputs, mode: ForwardMode): RegionFeatures {
    if (inputs.pixels == null) throw new UsageError('backbone "cnn" needs ImageInputs.pixels, which this batch lacks');
    const pixels = inputs.pixels;
    const b = pixels.shape[0];
    const g = this.gridSize;
    if (this.args.output === 'grid') {
      const features = tf.tidy(() => this.featureMap(pixels, mode.training).reshape([b, g * g, this.outputDim]) as tf.Tensor3D);
      return { features, lengths: new Int32Array(b).fill(g * g) };
    }
    if (inputs.boxes == null) throw new UsageError('backbone "cnn" with output: regions needs ImageInputs.boxes, which this batch lacks');
    const r = inputs.boxes.shape[1];
    const lengths = Int32Array.from(inputs.regionLengths ?? new Int32Array(b).fill(r));
    const weights = boxPoolingWeights(inputs.boxes.dataSync() as Float32Array, lengths, b, r, g);
    const features = tf.tidy(() => poolBoxes(this.featureMap(pixels, mode.training), weights, r));
    return { features, lengths };
  }

  /** `[B, S, S, 3]` → `[B, g, g, F]` */
  featureMap(pixels: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => this.stages.reduce((x, stage) => stage.apply(x, training), pixels));
  }
}

/**
 * Which cells of a g × g map each box averages. Cell (y, x) spans [x/g, (x+1)/g) × [y/g, (y+1)/g) of the image;
 * a box takes the cells whose centre lies inside it (x0 ≤ centre < x1, likewise in y), or, when it covers no
 * centre (a box smaller than a cell), the one cell holding the box's centre. Rows past an image's length are zero.
 *
 * @param boxes `[B, R, 4]` (x0, y0, x1, y1) in [0, 1], row-major
 * @returns `[B, R, g²]` row-major averaging weights: each valid row sums to 1
 */
export function boxPoolingWeights(boxes: Float32Array, lengths: Int32Array, b: number, r: number, g: number): Float32Array {
  const weights = new Float32Array(b * r * g * g);
  const cells = (lo: number, hi: number): number[] => {
    const inside: number[] = [];
    for (let k = 0; k < g; k++) if ((k + 0.5) / g >= lo && (k + 0.5) / g < hi) inside.push(k);
    return inside.length > 0 ? inside : [Math.min(g - 1, Math.max(0, Math.floor(((lo + hi) / 2) * g)))];
  };
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < lengths[i]; j++) {
      const o = (i * r + j) * 4;
      const xs = cells(boxes[o], boxes[o + 2]);
      const ys = cells(boxes[o + 1], boxes[o + 3]);
      const row = (i * r + j) * g * g;
      for (const y of ys) for (const x of xs) weights[row + y * g + x] = 1 / (xs.length * ys.length);
    }
  }
  return weights;
}

/**
 * Region features as weighted means of map cells.
 * @param map `[B, g, g, F]`
 * @param weights `[B, R, g²]` from {@link boxPoolingWeights}
 * @returns `[B, R, F]`
 */
export function poolBoxes(map: tf.Tensor4D, weights: Float32Array, r: number): tf.Tensor3D {
  const [b, g, , f] = map.shape;
  return tf.tidy(() => tf.matMul(tf.tensor3d(weights, [b, r, g * g]), map.reshape([b, g * g, f]) as tf.Tensor3D));
}

/** Before anything is built: the CNN reads pixels (and, for box-pooled regions, boxes). */
const checkCnnBackbone: NodeCheck = ({ path, data }) =>
  data && data.info.imageSize == null
    ? [{ path: `${path}.type`, message: 'backbone "cnn" reads pixels, and this data set supplies none (its batches carry precomputed features)' }]
    : [];

export const cnnBackboneSpec = definePlugin({
  kind: 'backbone',
  name: 'cnn',
  doc: 'Small trainable CNN on pixels (conv3×3 stride 2 + BN + ReLU stages): grid cells, or box-pooled regions.',
  version: '1.0.0',
  options: cnnBackboneOptions,
  plugin: CnnBackbone,
  check: checkCnnBackbone,
});

import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  BatchNorm,
  Block,
  cellMeanPool,
  Conv2d,
  DATA_INFO,
  type DataInfo,
  definePlugin,
  type ForwardMode,
  type ImageInputs,
  inject,
  injectable,
  loadCheckpoint,
  RunFolder,
  type Logger,
  LOGGER,
  type NamedParameter,
  NODE_PATH,
  optional,
  PLUGIN_ARGS,
  type Rng,
  RNG,
  type Segmentation,
  type Segmenter,
  type Static,
  tf,
  Type,
  UsageError,
  type NodeCheck,
} from 'shnet';

export const learnedSegmenterOptions = Type.Object(
  {
    channels: Type.Array(Type.Integer({ minimum: 1 }), {
      minItems: 2,
      maxItems: 5,
      default: [16, 24, 32],
      description: 'Widths: the stem, then one stride-2 stage each (the last one also gets a context conv).',
    }),
    stemStride: Type.Integer({
      minimum: 1,
      maximum: 2,
      default: 2,
      description: 'Stride of the stem: 2 works at half resolution (4× cheaper) and upsamples the logits to the map size.',
    }),
    checkpoint: Type.Optional(
      Type.String({
        description:
          "Weights from a segmenter-stage run: a .safetensors file, a run folder (its checkpoints/best.safetensors), or a run-folder prefix ending in '*' (the newest match).",
      }),
    ),
    freeze: Type.Boolean({
      default: true,
      description: 'With a checkpoint: keep the weights fixed (not trainable, BatchNorm on running statistics), as the reference keeps UPSNet.',
    }),
    presenceThreshold: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.002,
      description: 'A class is present (category multi-hot) when at least this fraction of the map is labelled with it.',
    }),
  },
  { additionalProperties: false },
);

/** Conv (stride s) + BatchNorm2d + ReLU. */
class ConvBnRelu extends Block {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm;

  constructor(inChannels: number, outChannels: number, rng: Rng, stride = 1) {
    super();
    this.conv = this.addChild('conv', new Conv2d(inChannels, outChannels, 3, rng, stride));
    this.bn = this.addChild('bn', new BatchNorm(outChannels));
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => tf.relu(this.bn.apply(this.conv.apply(x), training)));
  }
}

/**
 * A small convolutional segmenter trained on ground-truth label maps (the stand-in for UPSNet, docs/model.md):
 * pixels `[B, S, S, 3]` → a stem (stride 2 by default: half resolution), stride-2 stages with a context conv at
 * the bottom (receptive field ≈ 31 pixels at the defaults, enough to tell a star from a cross) → the stem, the
 * middle stage and the context upsampled (bilinear) to the stem's resolution and concatenated → 1×1 conv → logits,
 * resized (bilinear) to the map size → per-pixel logits `[B, m, m, C]`. The three outputs follow from them:
 *
 * - class-score grid: per-cell mean of the softmax probabilities ({@link cellMeanPool}, the cells of the data set's
 *   grid), the analogue of pooled UPSNet class scores;
 * - label map: the arg-max class of each pixel, as floats;
 * - categories: classes labelled on at least `presenceThreshold` of the map.
 *
 * It is trained in its own stage (`stage: segmenter` recipes, pixel-wise cross-entropy; `core/train/segmenter-stage.ts`)
 * and then used with `checkpoint:` in a retrieval recipe, frozen by default.
 *
 * Parameters: `stem.*`, `down.<i>.*`, `context.*` (each `conv.{weight,bias}`, `bn.*`), `head.{weight,bias}`.
 */
@injectable()
export class LearnedSegmenter extends Block implements Segmenter {
  private readonly stem: ConvBnRelu;
  private readonly down: ConvBnRelu[] = [];
  private readonly context: ConvBnRelu;
  private readonly head: Conv2d;
  private readonly frozen: boolean;

  constructor(
    @inject(PLUGIN_ARGS) private readonly args: Static<typeof learnedSegmenterOptions>,
    @inject(DATA_INFO) private readonly info: DataInfo,
    @inject(RNG) rng: Rng,
    @inject(NODE_PATH) path: string,
    @inject(LOGGER) @optional() logger?: Logger,
  ) {
    super();
    const init = rng.fork(`init:${path}`);
    const [stemWidth, ...stageWidths] = args.channels;
    this.stem = this.addChild('stem', new ConvBnRelu(3, stemWidth, init, args.stemStride));
    let width = stemWidth;
    stageWidths.forEach((out, i) => {
      this.down.push(this.addChild(`down.${i}`, new ConvBnRelu(width, out, init, 2)));
      width = out;
    });
    this.context = this.addChild('context', new ConvBnRelu(width, width, init));
    const middle = this.down.length > 1 ? args.channels[Math.ceil(this.down.length / 2)] : 0;
    this.head = this.addChild('head', new Conv2d(stemWidth + middle + width, info.numClasses, 1, init));
    this.frozen = args.checkpoint !== undefined && args.freeze;
    if (args.checkpoint !== undefined) {
      const file = resolveSegmenterCheckpoint(args.checkpoint);
      loadCheckpoint(file, super.parameters());
      logger?.info(`${path}: segmenter weights from ${file}${this.frozen ? ' (frozen)' : ''}`);
    }
  }

  /** Frozen weights are listed as not trainable, so the optimizer leaves them alone (checkpoints still hold them). */
  override parameters(): NamedParameter[] {
    const all = super.parameters();
    return this.frozen ? all.map((p) => ({ ...p, trainable: false })) : all;
  }

  /** @returns per-pixel class logits `[B, m, m, C]` */
  pixelLogits(inputs: ImageInputs, mode: ForwardMode): tf.Tensor4D {
    const pixels = inputs.pixels;
    if (pixels == null) throw new UsageError('segmenter "learned" needs ImageInputs.pixels, which this batch lacks');
    const training = mode.training && !this.frozen;
    return tf.tidy(() => {
      const stem = this.stem.apply(pixels, training);
      const [, h, w] = stem.shape;
      const stages: tf.Tensor4D[] = [];
      let x = stem;
      for (const stage of this.down) {
        x = stage.apply(x, training);
        stages.push(x);
      }
      const context = this.context.apply(x, training);
      const up = (t: tf.Tensor4D) => tf.image.resizeBilinear(t, [h, w], false, true);
      const parts = [stem, ...(stages.length > 1 ? [up(stages[Math.ceil(stages.length / 2) - 1])] : []), up(context)];
      const logits = this.head.apply(tf.concat(parts, 3) as tf.Tensor4D);
      const m = this.info.mapSize;
      return h === m && w === m ? logits : tf.image.resizeBilinear(logits, [m, m], false, true);
    });
  }

  /** @returns classGrid `[B, C, g, g]`, labelMap `[B, m, m]`, categories `[B, C]` (new tensors) */
  segment(inputs: ImageInputs, mode: ForwardMode): Segmentation {
    return tf.tidy(() => {
      const logits = this.pixelLogits(inputs, mode);
      const probabilities = tf.softmax(logits) as tf.Tensor4D;
      const labels = logits.argMax(3);
      const [b, m] = logits.shape;
      const share = tf
        .oneHot(labels.reshape([b, m * m]), this.info.numClasses)
        .toFloat()
        .mean(1);
      return {
        classGrid: cellMeanPool(probabilities, this.info.gridSize),
        labelMap: labels.toFloat() as tf.Tensor3D,
        categories: share.greaterEqual(Math.max(this.args.presenceThreshold, 1 / (m * m))).toFloat() as tf.Tensor2D,
      };
    });
  }
}

/**
 * The weights file `checkpoint` names: a `.safetensors` file; a run folder (`checkpoints/best.safetensors`); or a
 * prefix ending in `*` (`runs/shapes-segmenter-*`), the newest run folder it matches that has a best checkpoint.
 * Run folders are named `<name>-<ISO time>`, so the newest is the last in name order.
 */
export function resolveSegmenterCheckpoint(checkpoint: string): string {
  const best = (dir: string) => new RunFolder(dir).best;
  if (checkpoint.endsWith('*')) {
    const folder = dirname(checkpoint);
    const prefix = basename(checkpoint).slice(0, -1);
    const runs = existsSync(folder)
      ? readdirSync(folder)
          .filter((name) => name.startsWith(prefix) && existsSync(best(join(folder, name))))
          .sort()
      : [];
    if (runs.length === 0)
      throw new UsageError(`segmenter checkpoint ${checkpoint}: no run folder matches; train one first (shnet run recipes/shapes/segmenter.yaml)`);
    return best(join(folder, runs[runs.length - 1]));
  }
  if (!existsSync(checkpoint)) throw new UsageError(`segmenter checkpoint ${checkpoint} does not exist`);
  return statSync(checkpoint).isDirectory() ? best(checkpoint) : checkpoint;
}

/**
 * Before anything is built: the segmenter reads pixels, and a segmenter stage trains it on label maps, so the data
 * set must supply them.
 */
const checkLearnedSegmenter: NodeCheck = ({ path, data, recipe }) => {
  if (!data) return [];
  const problems = [];
  if (data.info.imageSize == null) problems.push({ path: `${path}.type`, message: 'segmenter "learned" reads pixels, and this data set supplies none' });
  if (recipe.stage === 'segmenter' && !data.segmentation) {
    problems.push({ path: 'data', message: 'a segmenter stage trains on ground-truth label maps, and this data set supplies none' });
  }
  return problems;
};

export const learnedSegmenterSpec = definePlugin({
  kind: 'segmenter',
  name: 'learned',
  doc: 'Small conv segmenter on pixels, trained on ground-truth maps in its own stage (stage: segmenter); frozen from a checkpoint.',
  version: '1.0.0',
  options: learnedSegmenterOptions,
  plugin: LearnedSegmenter,
  check: checkLearnedSegmenter,
});

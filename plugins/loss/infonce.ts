import { definePlugin, inject, injectable, type Loss, type NamedParameter, PLUGIN_ARGS, type Static, tf, type TrainingProgress, Type } from 'shnet';

export const infoNceLossOptions = Type.Object(
  {
    initialTemperature: Type.Number({ exclusiveMinimum: 0, default: 0.07, description: 'Starting temperature τ (CLIP: 0.07).' }),
    maxLogitScale: Type.Number({ exclusiveMinimum: 0, default: 100, description: 'Cap on 1/τ, as CLIP clamps it.' }),
  },
  { additionalProperties: false },
);

/**
 * Symmetric InfoNCE as CLIP: logits = S / τ with S = I·Cᵀ, loss = (CE(rows → diagonal) + CE(columns → diagonal)) / 2,
 * averaged over the batch. τ is learned through `logit_scale` = log(1/τ) (init log(1/0.07)); the scale used is
 * capped at maxLogitScale. A mean, not a sum (the triplet loss sums): learning rates tuned for one do not carry over.
 *
 * Parameters: `logit_scale` (scalar, trainable, default group).
 */
@injectable()
export class InfoNceLoss implements Loss {
  private readonly logitScale: tf.Variable;

  constructor(@inject(PLUGIN_ARGS) private readonly args: Static<typeof infoNceLossOptions>) {
    const initial = tf.scalar(Math.log(1 / args.initialTemperature));
    this.logitScale = tf.variable(initial, true);
    initial.dispose();
  }

  /** @param images `[B, D]` @param captions `[B, D]` @returns scalar */
  compute(images: tf.Tensor2D, captions: tf.Tensor2D, _progress: TrainingProgress): tf.Scalar {
    return tf.tidy(() => {
      const n = images.shape[0];
      const scale = tf.minimum(tf.exp(this.logitScale), this.args.maxLogitScale);
      const logits = tf.matMul(images, captions, false, true).mul(scale);
      const targets = tf.eye(n);
      const rows = tf.losses.softmaxCrossEntropy(targets, logits);
      const cols = tf.losses.softmaxCrossEntropy(targets, logits.transpose());
      return rows.add(cols).div(2) as tf.Scalar;
    });
  }

  parameters(): NamedParameter[] {
    return [{ name: 'logit_scale', variable: this.logitScale, trainable: true }];
  }

  dispose(): void {
    this.logitScale.dispose();
  }
}

export const infoNceLossSpec = definePlugin({
  kind: 'loss',
  name: 'infonce',
  doc: 'Symmetric InfoNCE (CLIP) with a learned temperature.',
  version: '1.0.0',
  options: infoNceLossOptions,
  plugin: InfoNceLoss,
});

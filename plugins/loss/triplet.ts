import { definePlugin, inject, injectable, type Loss, PLUGIN_ARGS, type Static, tf, type TrainingProgress, Type } from 'shnet';

export const tripletLossOptions = Type.Object(
  {
    margin: Type.Number({ default: 0.2, description: 'Hinge margin m.' }),
    warmupEpochs: Type.Integer({
      minimum: 0,
      default: 1,
      description: 'Epochs that sum over all in-batch negatives (VSE0) before switching to the hardest negative (VSE++).',
    }),
  },
  { additionalProperties: false },
);

/**
 * Bidirectional hinge triplet loss on cosine scores (docs/model.md, VSE∞'s `ContrastiveLoss`), **summed** over the batch.
 * With S = I·Cᵀ:
 *   caption retrieval  c_s[i,j] = max(0, m + S[i,j] − S[i,i]),  j ≠ i
 *   image retrieval    c_i[i,j] = max(0, m + S[i,j] − S[j,j]),  i ≠ j
 * Epoch < warmupEpochs: Σ c_s + Σ c_i (all negatives). Afterwards: Σ_i max_j c_s[i,j] + Σ_j max_i c_i[i,j].
 */
@injectable()
export class TripletLoss implements Loss {
  constructor(@inject(PLUGIN_ARGS) private readonly args: Static<typeof tripletLossOptions>) {}

  /** @param images `[B, D]` @param captions `[B, D]` @returns scalar */
  compute(images: tf.Tensor2D, captions: tf.Tensor2D, progress: TrainingProgress): tf.Scalar {
    return tf.tidy(() => {
      const n = images.shape[0];
      const scores = tf.matMul(images, captions, false, true);
      const diagonal = tf.sum(images.mul(captions), 1); // S[i,i] without extracting the diagonal
      const offDiagonal = tf.scalar(1).sub(tf.eye(n));
      const costS = tf.relu(scores.add(this.args.margin).sub(diagonal.reshape([n, 1]))).mul(offDiagonal);
      const costIm = tf.relu(scores.add(this.args.margin).sub(diagonal.reshape([1, n]))).mul(offDiagonal);
      if (this.objective(progress) === 'all_negatives') return costS.sum().add(costIm.sum()) as tf.Scalar;
      return costS.max(1).sum().add(costIm.max(0).sum()) as tf.Scalar;
    });
  }

  /** The sum over all negatives is B−1 times the size of the hardest-negative one: the two are logged apart. */
  objective(progress: TrainingProgress): string {
    return progress.epoch < this.args.warmupEpochs ? 'all_negatives' : 'hardest_negative';
  }
}

export const tripletLossSpec = definePlugin({
  kind: 'loss',
  name: 'triplet',
  doc: 'Bidirectional hinge triplet loss, summed: all negatives during warm-up, then the hardest (VSE++).',
  version: '1.0.0',
  options: tripletLossOptions,
  plugin: TripletLoss,
});

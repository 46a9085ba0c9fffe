import { tf } from '../backend/tf';

/**
 * Names of the per-batch embedding statistics, in the order {@link embeddingDiagnostics} stacks them. Logged as
 * `train/<name>` (docs/mlflow.md) so a collapse of the joint space shows in MLflow as it happens.
 */
export const EMBEDDING_DIAGNOSTICS = [
  'positive_cosine',
  'hardest_negative_cosine',
  'batch_r1',
  'image_cosine',
  'caption_cosine',
  'image_rank',
  'caption_rank',
] as const;

export type EmbeddingDiagnostic = (typeof EMBEDDING_DIAGNOSTICS)[number];

/**
 * Statistics of one batch of L2-normalised embeddings that tell a healthy joint space from a collapsing one:
 * - `positive_cosine`: mean cosine of the matching pairs (the diagonal of S = I·Cᵀ);
 * - `hardest_negative_cosine`: mean over images of the highest non-matching caption score (what the hardest-negative
 *   hinge pushes against);
 * - `batch_r1`: the fraction of images whose caption outscores every other caption of the batch (in-batch i2t
 *   R@1): below ½, the hardest negative usually beats the positive, the regime in which the hardest-negative
 *   hinge collapses the space (docs/results.md);
 * - `image_cosine`, `caption_cosine`: mean pairwise cosine between different items of one modality (→ 1 when every
 *   image, or every caption, maps to the same point);
 * - `image_rank`, `caption_rank`: the participation ratio (Σλ)² / Σλ² of the batch's centred embeddings, an
 *   effective rank between 1 (all on one line) and min(B − 1, D), 0 when every item is the same point; computed as
 *   tr(G)² / ‖G‖²_F of the centred Gram matrix G, which has the same non-zero eigenvalues as the covariance.
 *
 * Computed without gradients' involvement (callers read it next to the loss, in the same host read).
 * @param images `[B, D]` L2-normalised
 * @param captions `[B, D]` L2-normalised
 * @returns `[7]`, in {@link EMBEDDING_DIAGNOSTICS} order
 */
export function embeddingDiagnostics(images: tf.Tensor2D, captions: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const n = images.shape[0];
    const offDiagonal = tf.scalar(1).sub(tf.eye(n));
    const pairs = Math.max(1, n * (n - 1));
    const scores = tf.matMul(images, captions, false, true);
    const diagonal = tf.sum(images.mul(captions), 1);
    const positive = tf.mean(diagonal);
    // Matching pairs pushed to -2, below any cosine, so the row max is over the negatives only.
    const hardestPerImage = n > 1 ? tf.max(scores.sub(tf.eye(n).mul(3)), 1) : tf.fill([n], -2);
    const hardest = tf.mean(hardestPerImage);
    const batchR1 = tf.mean(tf.cast(tf.greater(diagonal, hardestPerImage), 'float32'));
    const meanCosine = (x: tf.Tensor2D) => tf.div(tf.sum(tf.matMul(x, x, false, true).mul(offDiagonal)), pairs);
    const rank = (x: tf.Tensor2D) => {
      const centred = x.sub(tf.mean(x, 0, true));
      const gram = tf.matMul(centred, centred, false, true);
      const trace = tf.sum(tf.square(centred));
      return tf.div(tf.square(trace), tf.add(tf.sum(tf.square(gram)), 1e-12));
    };
    return tf.stack([positive, hardest, batchR1, meanCosine(images), meanCosine(captions), rank(images), rank(captions)]) as tf.Tensor1D;
  });
}

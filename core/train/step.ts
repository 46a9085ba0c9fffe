import { tf } from '../backend/tf';
import type { ImageInputs } from '../contracts/image';
import type { NamedParameter } from '../contracts/module';
import type { Rng } from '../contracts/services';
import type { Optimizer, Schedule, TrainingProgress } from '../contracts/training';
import { RunFailure } from '../errors';
import { EMBEDDING_DIAGNOSTICS, embeddingDiagnostics, type EmbeddingDiagnostic } from './embedding-diagnostics';
import { parameterGroups, type TrainableBlocks } from './parameters';

/** What one training step needs besides the batch. */
export interface StepContext extends TrainableBlocks {
  readonly optimizer: Optimizer;
  readonly schedule: Schedule | null;
  /** Every weight, as {@link runParameters} names them; only trainable ones get gradients. */
  readonly params: readonly NamedParameter[];
  /** Global L2-norm clipping threshold (`train.gradClip`). */
  readonly gradClip: number;
}

export interface StepResult {
  readonly loss: number;
  /** Gradient global norm before clipping. */
  readonly gradNorm: number;
  /** Statistics of the batch's embeddings (docs/mlflow.md), read with the loss. */
  readonly embeddings: Readonly<Record<EmbeddingDiagnostic, number>>;
  /** Learning rate per optimizer group used by this step. */
  readonly learningRates: ReadonlyMap<string, number>;
}

/**
 * One optimisation step: forward both encoders in training mode, loss, gradients of every trainable weight,
 * global-norm clipping, optimizer update with lr = base lr of the group × schedule multiplier. The batch's
 * embedding statistics ({@link embeddingDiagnostics}) come back with the loss.
 *
 * Clipping is computed in the graph (the scale `min(1, maxNorm / (norm + 1e-6))` of `clip_grad_norm_`) so the
 * loss and the norm come back in a single host read. A non-finite loss or gradient norm throws {@link RunFailure}
 * before the optimizer runs, so the weights stay those of the last good step.
 *
 * Owns nothing it returns: every tensor it makes is disposed before it returns or throws.
 */
export function trainStep(ctx: StepContext, images: ImageInputs, captions: readonly string[], progress: TrainingProgress, rng: Rng): StepResult {
  const trainable = ctx.params.filter((p) => p.trainable);
  const nameOf = new Map(trainable.map((p) => [p.variable.name, p.name]));
  const mode = { training: true, rng };
  const kept: { diagnostics?: tf.Tensor1D } = {};
  const { value, grads } = tf.variableGrads(
    () => {
      const imageEmbeddings = ctx.imageEncoder.encode(images, mode);
      const captionEmbeddings = ctx.textEncoder.encode(captions, mode);
      kept.diagnostics = tf.keep(embeddingDiagnostics(imageEmbeddings, captionEmbeddings));
      return ctx.loss.compute(imageEmbeddings, captionEmbeddings, progress);
    },
    trainable.map((p) => p.variable),
  );
  const clipped = new Map<string, tf.Tensor>();
  try {
    const summary = tf.tidy(() => {
      const gradients = Object.values(grads);
      const norm = gradients.length === 0 ? tf.scalar(0) : tf.sqrt(tf.addN(gradients.map((g) => tf.sum(tf.square(g)))));
      const scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(ctx.gradClip), tf.add(norm, 1e-6)));
      for (const [variableName, g] of Object.entries(grads)) clipped.set(nameOf.get(variableName)!, tf.keep(tf.mul(g, scale)));
      return tf.concat([tf.stack([value, norm]), kept.diagnostics!]);
    });
    const [loss, gradNorm, ...stats] = summary.dataSync();
    summary.dispose();
    const embeddings = Object.fromEntries(EMBEDDING_DIAGNOSTICS.map((name, i) => [name, stats[i]])) as Record<EmbeddingDiagnostic, number>;
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      const what = !Number.isFinite(loss) ? `loss is ${loss}` : `loss is ${loss} but the gradient norm is ${gradNorm}`;
      throw new RunFailure(
        `training diverged at epoch ${progress.epoch + 1}, step ${progress.step + 1}: ${what}. ` +
          'No checkpoint was written for this state; the last good one is kept. Lower the learning rate or check the data.',
      );
    }
    const multiplier = ctx.schedule?.multiplier(progress) ?? 1;
    const base = ctx.optimizer.baseLearningRates(parameterGroups(ctx.params));
    const learningRates = new Map([...base].map(([group, lr]) => [group, lr * multiplier]));
    ctx.optimizer.apply(trainable, clipped, learningRates);
    return { loss, gradNorm, embeddings, learningRates };
  } finally {
    value.dispose();
    if (kept.diagnostics) kept.diagnostics.dispose();
    tf.dispose(Object.values(grads));
    tf.dispose([...clipped.values()]);
  }
}

import * as tf from '../backend/tf';
import { columnMoments, scaleShiftColumns } from '../backend/column-reductions';
import { Block } from './block';

/**
 * `nn.LayerNorm(dim)` over the last axis, eps 1e-5, weight 1 and bias 0 at start (PyTorch defaults).
 * Parameters `weight` [dim], `bias` [dim] (same layout as PyTorch).
 */
export class LayerNorm extends Block {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.addParameter('weight', tf.ones([dim]));
    this.bias = this.addParameter('bias', tf.zeros([dim]));
  }

  /**
   * @param x `[..., dim]`
   * @returns `[..., dim]`
   */
  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return x
        .sub(mean)
        .mul(tf.rsqrt(variance.add(this.eps)))
        .mul(this.weight)
        .add(this.bias) as T;
    });
  }
}

/**
 * `nn.BatchNorm1d(C)` / `nn.BatchNorm2d(C)`: normalises every axis but the last (channels-last), so a `[B·N, C]`
 * token matrix (BatchNorm1d over flattened tokens, as the reference's MLP) and an NHWC `[B, H, W, C]` map
 * (BatchNorm2d) are the same computation.
 *
 * Training: batch mean and biased variance normalise; running statistics move by momentum 0.1 towards the batch mean
 * and the **unbiased** batch variance (n/(n−1)), and `num_batches_tracked` increases, as PyTorch does.
 * Evaluation: running statistics normalise. eps 1e-5.
 *
 * Parameters (PyTorch names and layouts): `weight`, `bias` [C] trainable; buffers `running_mean`, `running_var` [C]
 * and `num_batches_tracked` (scalar int32), not trainable.
 *
 * The running-statistic update is a side effect on non-trainable variables: under `tf.variableGrads` it is recorded
 * but lies off the loss path, so it gets no gradient, happens once per forward, and its temporaries are released
 * with the caller's tidy scope (the variables keep only the new values).
 */
export class BatchNorm extends Block {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numBatchesTracked: tf.Variable;

  constructor(
    readonly channels: number,
    readonly momentum = 0.1,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.addParameter('weight', tf.ones([channels]));
    this.bias = this.addParameter('bias', tf.zeros([channels]));
    this.runningMean = this.addParameter('running_mean', tf.zeros([channels]), { trainable: false });
    this.runningVar = this.addParameter('running_var', tf.ones([channels]), { trainable: false });
    this.numBatchesTracked = this.addParameter('num_batches_tracked', tf.scalar(0, 'int32'), { trainable: false });
  }

  /**
   * @param x `[..., C]` (`[B·N, C]` for BatchNorm1d, `[B, H, W, C]` for BatchNorm2d)
   * @returns `[..., C]`
   */
  apply<T extends tf.Tensor>(x: T, training: boolean): T {
    return tf.tidy(() => {
      const flat = x.reshape([-1, this.channels]);
      let mean: tf.Tensor;
      let variance: tf.Tensor;
      if (training) {
        const n = flat.shape[0];
        if (n < 2) throw new Error(`BatchNorm in training needs more than one value per channel, got ${n}`);
        ({ mean, variance } = columnMoments(flat as tf.Tensor2D));
        this.updateRunningStats(mean, variance, n);
      } else {
        mean = this.runningMean;
        variance = this.runningVar;
      }
      // Folded into one scale and one shift per channel, so the [N, C] map is touched twice, not four times
      // (VSpM's BatchNorm2d runs over B·4096 pixels × 128 channels).
      const scale = tf.rsqrt(variance.add(this.eps)).mul(this.weight);
      const y = scaleShiftColumns(flat as tf.Tensor2D, scale as tf.Tensor1D, this.bias.sub(mean.mul(scale)) as tf.Tensor1D);
      return y.reshape(x.shape) as T;
    });
  }

  private updateRunningStats(mean: tf.Tensor, variance: tf.Tensor, n: number): void {
    const m = this.momentum;
    this.runningMean.assign(this.runningMean.mul(1 - m).add(mean.mul(m)));
    this.runningVar.assign(this.runningVar.mul(1 - m).add(variance.mul((m * n) / (n - 1))));
    this.numBatchesTracked.assign(this.numBatchesTracked.add(tf.scalar(1, 'int32')));
  }
}

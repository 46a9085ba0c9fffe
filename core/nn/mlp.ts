import * as tf from '../backend/tf';
import type { NamedParameter } from '../contracts/module';
import type { Rng } from '../contracts/services';
import { Block } from './block';
import { Linear } from './linear';
import { BatchNorm } from './norm';

/**
 * VSE∞'s 2-layer MLP (`lib/modules/mlp.py`, `MLP(in, hidden, out, 2)`): Linear(in→hidden) → BatchNorm1d → ReLU →
 * Linear(hidden→out), applied to every token with the BatchNorm over all B·N tokens flattened (padded tokens
 * included, as in the reference).
 *
 * The reference also allocates a BatchNorm1d(out) for the output layer and never calls it; it is kept (`bns.1`)
 * because it is part of the reference's `state_dict` and of its parameter count.
 *
 * Parameters: `layers.0.*`, `layers.1.*` ({@link Linear}), `bns.0.*`, `bns.1.*` ({@link BatchNorm}).
 */
export class Mlp extends Block {
  readonly hiddenLayer: Linear;
  readonly outputLayer: Linear;
  readonly hiddenNorm: BatchNorm;
  /** Allocated, never applied (reference behaviour). */
  readonly unusedOutputNorm: BatchNorm;

  constructor(
    readonly inDim: number,
    readonly hiddenDim: number,
    readonly outDim: number,
    rng: Rng,
  ) {
    super();
    // Construction order follows the reference (both Linears, then both BatchNorms) so the Rng draws line up.
    this.hiddenLayer = this.addChild('layers.0', new Linear(inDim, hiddenDim, rng));
    this.outputLayer = this.addChild('layers.1', new Linear(hiddenDim, outDim, rng));
    this.hiddenNorm = this.addChild('bns.0', new BatchNorm(hiddenDim));
    this.unusedOutputNorm = this.addChild('bns.1', new BatchNorm(outDim));
  }

  /** Marks `bns.1` weights as {@link NamedParameter.unusedInForward} (never applied, so never given a gradient). */
  override parameters(): NamedParameter[] {
    return super.parameters().map((p) => (p.name.startsWith('bns.1.') ? { ...p, unusedInForward: true } : p));
  }

  /**
   * @param x `[B, N, in]`
   * @returns `[B, N, out]`
   */
  apply(x: tf.Tensor3D, training: boolean): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, n] = x.shape;
      const flat = x.reshape([b * n, this.inDim]) as tf.Tensor2D;
      const hidden = tf.relu(this.hiddenNorm.apply(this.hiddenLayer.apply(flat), training));
      return this.outputLayer.apply(hidden).reshape([b, n, this.outDim]) as tf.Tensor3D;
    });
  }
}

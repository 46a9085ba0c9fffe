import * as tf from '../backend/tf';
import type { Rng } from '../contracts/services';
import { Block } from './block';
import { constant, defaultBound, normal, uniform, xavierBound } from './init';

/** How a {@link Linear} initialises its weights. */
export type LinearInit =
  /** PyTorch default: weight and bias U(±1/√in). */
  | 'default'
  /** Xavier-uniform weight, zero bias (the reference's `fc`). */
  | 'xavier'
  /** Weight N(0, std²), zero bias (BERT's `_init_weights`, std = `initializer_range`). */
  | { readonly normal: number };

/**
 * `nn.Linear(in, out)`: y = x·W + b over the last axis.
 *
 * Parameters: `weight` stored as **[in, out]** (PyTorch keeps [out, in]; a checkpoint importer transposes), so the
 * forward pass is an untransposed matMul, the fast path on wasm. `bias` [out] as in PyTorch.
 * Weights are drawn as PyTorch draws them, [out, in] row-major, then transposed, so a given Rng yields the same
 * PyTorch-layout matrix whichever layout is stored.
 */
export class Linear extends Block {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: Rng,
    options: { bias?: boolean; init?: LinearInit } = {},
  ) {
    super();
    const init = options.init ?? 'default';
    const torchLayout =
      typeof init === 'object'
        ? normal(rng, [outFeatures, inFeatures], init.normal)
        : uniform(rng, [outFeatures, inFeatures], init === 'xavier' ? xavierBound(inFeatures, outFeatures) : defaultBound(inFeatures));
    this.weight = this.addParameter(
      'weight',
      tf.tidy(() => torchLayout.transpose()),
      { torchLayout: [1, 0] },
    );
    torchLayout.dispose();
    this.bias =
      options.bias === false
        ? null
        : this.addParameter('bias', init === 'default' ? uniform(rng, [outFeatures], defaultBound(inFeatures)) : constant([outFeatures], 0));
  }

  /**
   * @param x `[..., in]`
   * @returns `[..., out]`
   */
  apply<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const flat = x.reshape([-1, this.inFeatures]) as tf.Tensor2D;
      const y = this.bias ? tf.fused.matMul({ a: flat, b: this.weight as tf.Tensor2D, bias: this.bias }) : tf.matMul(flat, this.weight as tf.Tensor2D);
      return y.reshape([...lead, this.outFeatures]) as T;
    });
  }
}

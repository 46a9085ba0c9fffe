import * as tf from '../backend/tf';
import type { Rng } from '../contracts/services';
import { Block } from './block';
import { normalValues, uniform } from './init';

/**
 * `nn.Embedding(V, dim)`: a lookup table. Parameter `weight` [V, dim], same layout as PyTorch.
 * Initialised U(±initRange) as VSE∞'s BiGRU text encoder does (`embed.weight.data.uniform_(-0.1, 0.1)`), not with
 * PyTorch's N(0, 1) default; or, given `{ normal: std }`, N(0, std²) as BERT's `_init_weights`, with the
 * `paddingIdx` row (if any) zeroed afterwards as BERT does.
 */
export class Embedding extends Block {
  readonly weight: tf.Variable;

  constructor(
    readonly numEmbeddings: number,
    readonly dim: number,
    rng: Rng,
    init: number | { readonly normal: number; readonly paddingIdx?: number } = 0.1,
  ) {
    super();
    if (typeof init === 'number') {
      this.weight = this.addParameter('weight', uniform(rng, [numEmbeddings, dim], init));
      return;
    }
    const table = normalValues(rng, numEmbeddings * dim, init.normal);
    if (init.paddingIdx != null) table.fill(0, init.paddingIdx * dim, (init.paddingIdx + 1) * dim);
    this.weight = this.addParameter('weight', tf.tensor2d(table, [numEmbeddings, dim]));
  }

  /**
   * @param ids `[B, T]` int32 token ids
   * @returns `[B, T, dim]`
   */
  apply(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, t] = ids.shape;
      // A 1-D index gather: its gradient (a segment sum) works on every backend, batched gathers do not.
      return tf.gather(this.weight, ids.reshape([-1])).reshape([b, t, this.dim]) as tf.Tensor3D;
    });
  }
}

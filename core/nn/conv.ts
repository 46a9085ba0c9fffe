import * as tf from '../backend/tf';
import type { Rng } from '../contracts/services';
import { Block } from './block';
import { defaultBound, uniform } from './init';

/**
 * `nn.Conv2d(in, out, k, stride s, padding (k−1)/2)` on channels-last maps (tfjs's fast layout); s = 1 by default.
 *
 * Parameters: `weight` stored as **[kh, kw, in, out]** (PyTorch keeps [out, in, kh, kw]: an importer permutes
 * with (2, 3, 1, 0)); `bias` [out]. PyTorch default init: U(±1/√(in·k·k)) for both. Weights are drawn in PyTorch's
 * [out, in, kh, kw] order, then permuted.
 */
export class Conv2d extends Block {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    rng: Rng,
    readonly stride = 1,
  ) {
    super();
    if (kernelSize % 2 !== 1) throw new Error(`Conv2d keeps the map size only with an odd kernel, got ${kernelSize}`);
    const bound = defaultBound(inChannels * kernelSize * kernelSize);
    const torchLayout = uniform(rng, [outChannels, inChannels, kernelSize, kernelSize], bound);
    this.weight = this.addParameter(
      'weight',
      tf.tidy(() => torchLayout.transpose([2, 3, 1, 0])),
      { torchLayout: [3, 2, 0, 1] },
    );
    torchLayout.dispose();
    this.bias = this.addParameter('bias', uniform(rng, [outChannels], bound));
  }

  /**
   * Zero padding (k−1)/2 (the reference's 3×3, padding 1).
   * @param x `[B, H, W, in]`
   * @returns `[B, H', W', out]`, H' = ⌊(H − 1)/s⌋ + 1 (H itself at stride 1)
   */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      // 'same' with stride 1 and an odd kernel pads (k−1)/2 on every side, exactly PyTorch's padding=(k−1)/2.
      // At stride 2 'same' would pad only the bottom/right when H is even; PyTorch pads both sides, so the
      // padding is given explicitly.
      // Plain conv + bias add: the fused op's custom gradient would also compute the input gradient, which nothing
      // needs when the input is data (VSpM's map).
      const pad = this.stride === 1 ? 'same' : (this.kernelSize - 1) / 2;
      return tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, pad).add(this.bias);
    });
  }

  /**
   * `apply(concat([x, shared], channels))` for a `shared` map that is the same for every batch item (a position
   * code), without building the concatenation: a convolution is linear in its input channels, so the shared
   * channels are convolved once and broadcast over the batch. Equal to `apply` up to float summation order.
   * @param x `[B, H, W, c]` the per-item channels (the first c input channels)
   * @param shared `[1, H, W, in − c]` the remaining input channels
   * @returns `[B, H', W', out]`
   */
  applyWithSharedChannels(x: tf.Tensor4D, shared: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const c = x.shape[3];
      if (shared.shape[0] !== 1 || c + shared.shape[3] !== this.inChannels) {
        throw new Error(`Conv2d(${this.inChannels}→…): got ${c} per-item and ${shared.shape[3]} shared channels in a batch of ${shared.shape[0]}`);
      }
      const pad = this.stride === 1 ? 'same' : (this.kernelSize - 1) / 2;
      const [kh, kw, , out] = this.weight.shape;
      const own = tf.conv2d(x, this.weight.slice([0, 0, 0, 0], [kh, kw, c, out]) as tf.Tensor4D, this.stride, pad);
      const common = tf.conv2d(shared, this.weight.slice([0, 0, c, 0], [kh, kw, this.inChannels - c, out]) as tf.Tensor4D, this.stride, pad);
      return own.add(common.add(this.bias)) as tf.Tensor4D;
    });
  }
}

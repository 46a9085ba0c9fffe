import * as tf from '../backend/tf';
import type { Rng } from '../contracts/services';
import { Block } from './block';
import { defaultBound, uniform } from './init';
import { lengthMask } from './mask';

/** Outputs of both directions of a {@link BiGru}, each zero past its row's length (as `pad_packed_sequence`). */
export interface BiGruOutput {
  /** `[B, T, H]` forward direction. */
  readonly forward: tf.Tensor3D;
  /** `[B, T, H]` backward direction, aligned with the input positions. */
  readonly backward: tf.Tensor3D;
}

/**
 * One-layer bidirectional `nn.GRU(in, H, batch_first=True, bidirectional=True)` over packed (variable-length)
 * sequences. PyTorch's gate order (r, z, n) and its `b_hn` inside the reset product:
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz),
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h.
 * The backward direction starts at each row's last valid position (packed-sequence semantics), so its outputs do
 * not depend on the padding.
 *
 * Parameters (PyTorch names; init U(±1/√H) for all): `weight_ih_l0` stored as **[in, 3H]** (PyTorch [3H, in]),
 * `weight_hh_l0` as **[H, 3H]** (PyTorch [3H, H]), `bias_ih_l0` and `bias_hh_l0` [3H]; the same with `_reverse`.
 * The 3H axis keeps PyTorch's (r, z, n) blocks, so an importer only transposes.
 */
export class BiGru extends Block {
  private readonly directions: { wih: tf.Variable; whh: tf.Variable; bih: tf.Variable; bhh: tf.Variable }[] = [];

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    rng: Rng,
  ) {
    super();
    const bound = defaultBound(hiddenSize);
    for (const suffix of ['', '_reverse']) {
      // PyTorch's reset_parameters draws in registration order: w_ih, w_hh, b_ih, b_hh per direction.
      const wih = this.torchMatrix(rng, 3 * hiddenSize, inputSize, bound);
      const whh = this.torchMatrix(rng, 3 * hiddenSize, hiddenSize, bound);
      this.directions.push({
        wih: this.addParameter(`weight_ih_l0${suffix}`, wih, { torchLayout: [1, 0] }),
        whh: this.addParameter(`weight_hh_l0${suffix}`, whh, { torchLayout: [1, 0] }),
        bih: this.addParameter(`bias_ih_l0${suffix}`, uniform(rng, [3 * hiddenSize], bound)),
        bhh: this.addParameter(`bias_hh_l0${suffix}`, uniform(rng, [3 * hiddenSize], bound)),
      });
    }
  }

  /**
   * @param x `[B, T, in]`, valid steps first in each row
   * @param lengths `[B]` valid steps per row (each ≥ 1)
   * @returns both directions `[B, T, H]`, zero past each length
   */
  run(x: tf.Tensor3D, lengths: Int32Array): BiGruOutput {
    return tf.tidy(() => {
      const t = x.shape[1];
      const mask = lengthMask(lengths, t).expandDims(2);
      const forward = this.direction(0, x).mul(mask) as tf.Tensor3D;
      // Reversing each row within its length turns the backward pass into a forward pass over the same padding.
      const flip = reverseWithinLengths(lengths, t);
      const reversedInput = gatherRows(x, flip);
      const backward = gatherRows(this.direction(1, reversedInput), flip).mul(mask) as tf.Tensor3D;
      return { forward, backward };
    });
  }

  /** Runs one direction left to right over `[B, T, in]` → `[B, T, H]` (valid for every prefix). */
  private direction(index: number, x: tf.Tensor3D): tf.Tensor3D {
    const { wih, whh, bih, bhh } = this.directions[index];
    const [b, t] = x.shape;
    const hSize = this.hiddenSize;
    // One matMul projects every step's input; only h·W_hh stays inside the recurrence.
    const projected = tf.fused
      .matMul({ a: x.reshape([b * t, this.inputSize]) as tf.Tensor2D, b: wih as tf.Tensor2D, bias: bih })
      .reshape([b, t, 3 * hSize]);
    const steps = tf.unstack(projected, 1) as tf.Tensor2D[];
    const outputs: tf.Tensor2D[] = [];
    let h: tf.Tensor2D = tf.zeros([b, hSize]);
    for (const xt of steps) {
      const hp = tf.fused.matMul({ a: h, b: whh as tf.Tensor2D, bias: bhh });
      const [xr, xz, xn] = tf.split(xt, 3, 1);
      const [hr, hz, hn] = tf.split(hp, 3, 1);
      const r = tf.sigmoid(xr.add(hr));
      const z = tf.sigmoid(xz.add(hz));
      const n = tf.tanh(xn.add(r.mul(hn)));
      h = n.add(z.mul(h.sub(n))) as tf.Tensor2D;
      outputs.push(h);
    }
    return tf.stack(outputs, 1) as tf.Tensor3D;
  }

  private torchMatrix(rng: Rng, rows: number, cols: number, bound: number): tf.Tensor {
    const torchLayout = uniform(rng, [rows, cols], bound);
    const stored = tf.tidy(() => torchLayout.transpose());
    torchLayout.dispose();
    return stored;
  }
}

/** Flat row indices that reverse each row's first `lengths[b]` steps and leave its padding in place. */
function reverseWithinLengths(lengths: Int32Array, t: number): Int32Array {
  const idx = new Int32Array(lengths.length * t);
  lengths.forEach((n, b) => {
    for (let s = 0; s < t; s++) idx[b * t + s] = b * t + (s < n ? n - 1 - s : s);
  });
  return idx;
}

/** `[B, T, F]` rows permuted by flat indices into the `B·T` rows (a 1-D gather, differentiable on every backend). */
function gatherRows(x: tf.Tensor3D, flatIndex: Int32Array): tf.Tensor3D {
  const [b, t, f] = x.shape;
  return tf.gather(x.reshape([b * t, f]), tf.tensor1d(flatIndex, 'int32')).reshape([b, t, f]) as tf.Tensor3D;
}

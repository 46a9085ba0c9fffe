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
      // Reversing each row within its length turns the backward pass into a forward pass over the same padding.
      const flip = reverseWithinLengths(lengths, t);
      const [forward, reversed] = this.bothDirections(x, gatherRows(x, flip));
      return { forward: forward.mul(mask) as tf.Tensor3D, backward: gatherRows(reversed, flip).mul(mask) as tf.Tensor3D };
    });
  }

  /**
   * Runs both directions left to right in one loop, direction d over `inputs[d]` `[B, T, in]` → `[B, T, H]` (valid
   * for every prefix). The two states are stacked as `[2, B, H]`, so each step is one batched product with the
   * stacked `[2, H, 3H]` W_hh and one set of gate ops for both directions: the step count, not the arithmetic,
   * bounds the speed of a small recurrence, since every op has a fixed dispatch cost.
   * b_hr and b_hz are added to the input projections before the loop (only their sums with W_h·h enter the gates);
   * b_hn stays inside the reset product.
   */
  private bothDirections(...inputs: [tf.Tensor3D, tf.Tensor3D]): [tf.Tensor3D, tf.Tensor3D] {
    const [b, t] = inputs[0].shape;
    const hSize = this.hiddenSize;
    const gateBias = this.directions.map(({ bih, bhh }) => bih.add(tf.concat([bhh.slice(0, 2 * hSize), tf.zerosLike(bhh.slice(2 * hSize))])));
    // One matMul per direction projects every step's input; only h·W_hh stays inside the recurrence.
    const projected = inputs.map((x, d) =>
      tf.fused
        .matMul({ a: x.reshape([b * t, this.inputSize]) as tf.Tensor2D, b: this.directions[d].wih as tf.Tensor2D, bias: gateBias[d] })
        .reshape([b, t, 3 * hSize]),
    );
    // [T, 2, B, 3H]: every step's slice is one contiguous block.
    const stepMajor = tf.stack(projected).transpose([2, 0, 1, 3]);
    const [resetUpdateIn, candidateIn] = tf.split(stepMajor, [2 * hSize, hSize], 3);
    const resetUpdateSteps = tf.unstack(resetUpdateIn) as tf.Tensor3D[];
    const candidateSteps = tf.unstack(candidateIn) as tf.Tensor3D[];
    const whh = tf.stack(this.directions.map((p) => p.whh)) as tf.Tensor3D; // [2, H, 3H]
    const candidateBias = tf.stack(this.directions.map((p) => p.bhh.slice(2 * hSize))).expandDims(1); // [2, 1, H]
    const outputs: tf.Tensor3D[] = [];
    let h: tf.Tensor3D = tf.zeros([2, b, hSize]);
    for (let s = 0; s < t; s++) {
      const [hiddenResetUpdate, hiddenCandidate] = tf.split(tf.matMul(h, whh), [2 * hSize, hSize], 2);
      const [r, z] = tf.split(tf.sigmoid(resetUpdateSteps[s].add(hiddenResetUpdate)), 2, 2);
      const n = tf.tanh(candidateSteps[s].add(r.mul(hiddenCandidate.add(candidateBias))));
      h = n.add(z.mul(h.sub(n))) as tf.Tensor3D;
      outputs.push(h);
    }
    // [T, 2, B, H] → [2, B, T, H]
    const [forward, backward] = tf.unstack(tf.stack(outputs).transpose([1, 2, 0, 3])) as tf.Tensor3D[];
    return [forward, backward];
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

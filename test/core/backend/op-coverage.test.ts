/**
 * Every op a 3SHNet model runs, forward and backward, on every test backend against cpu, and on the native
 * backend when `npm run native` installed it. A kernel missing on a backend fails here by name ("Kernel 'X' not
 * registered for backend 'wasm'"), before a model meets it.
 */
import { tf } from '../../../core/backend/tf';
import { sortDescending } from '../../../core/backend/differentiable-sort';
import { assertSameOnBackends, nativeTestBackends, restoreBackendAfterSuite, seededTensor, TEST_BACKENDS } from '../../support/tensors';

interface OpCase {
  name: string;
  /** Inputs, built on the backend under test. */
  inputs: () => tf.Tensor[];
  f: (...xs: tf.Tensor[]) => tf.Tensor;
  /** Indices of the inputs to differentiate against; [] for ops without a gradient (compared forward only). */
  wrt?: number[];
}

const t = seededTensor;
const ids = (values: number[], shape = [values.length]) => tf.tensor(values, shape, 'int32');

const layerNorm = (x: tf.Tensor, gain: tf.Tensor, shift: tf.Tensor) => {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gain), shift);
};

/** One GRU step written with ops: input [B, D], state [B, H], weights [D, 3H], [H, 3H]. */
const gruStep = (x: tf.Tensor, h: tf.Tensor, w: tf.Tensor, u: tf.Tensor) => {
  const [xz, xr, xh] = tf.split(tf.matMul(x, w), 3, 1);
  const [hz, hr] = tf.split(tf.matMul(h, tf.slice(u, [0, 0], [-1, 2 * h.shape[1]!])), 2, 1);
  const z = tf.sigmoid(tf.add(xz, hz));
  const r = tf.sigmoid(tf.add(xr, hr));
  const candidate = tf.tanh(tf.add(xh, tf.matMul(tf.mul(r, h), tf.slice(u, [0, 2 * h.shape[1]!], [-1, -1]))));
  return tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), candidate));
};

const CASES: OpCase[] = [
  { name: 'dense: relu(x W + b)', inputs: () => [t([4, 6]), t([6, 5], 2), t([5], 3)], f: (x, w, b) => tf.relu(tf.add(tf.matMul(x, w), b)) },
  {
    name: 'fused dense: relu(x W + b)',
    inputs: () => [t([4, 6]), t([6, 5], 2), t([5], 3)],
    f: (x, w, b) => tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation: 'relu' }),
  },
  { name: 'dense over a sequence [B, T, D] × [D, E]', inputs: () => [t([2, 3, 6]), t([6, 5], 2)], f: (x, w) => tf.tanh(tf.matMul(x, w)), wrt: [0] },
  {
    name: 'matMul, transposed (cosine similarity matrix)',
    inputs: () => [t([4, 6]), t([5, 6], 2)],
    f: (a, b) => tf.matMul(tf.div(a, tf.norm(a, 2, 1, true)), tf.div(b, tf.norm(b, 2, 1, true)), false, true),
  },
  {
    name: 'batched attention: softmax(Q Kᵀ) V',
    inputs: () => [t([2, 3, 4]), t([2, 5, 4], 2), t([2, 5, 4], 3)],
    f: (q, k, v) => tf.matMul(tf.softmax(tf.matMul(q, k, false, true)), v),
  },
  { name: 'layer norm written with ops', inputs: () => [t([3, 8]), t([8], 2), t([8], 3)], f: layerNorm },
  {
    name: 'batchNorm with batch moments',
    inputs: () => [t([2, 3, 3, 4]), t([4], 2), t([4], 3)],
    f: (x, scale, offset) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(x, mean, variance, offset, scale, 1e-3);
    },
  },
  {
    name: 'conv2d 3×3 same + relu',
    inputs: () => [t([2, 5, 5, 3]), t([3, 3, 3, 4], 2)],
    f: (x, w) => tf.relu(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')),
  },
  {
    name: 'conv2d 3×3 stride 2 valid',
    inputs: () => [t([1, 7, 7, 2]), t([3, 3, 2, 3], 2)],
    f: (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid'),
  },
  { name: 'maxPool 2×2', inputs: () => [t([1, 4, 4, 2])], f: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid') },
  { name: 'avgPool 2×2', inputs: () => [t([1, 4, 4, 2])], f: (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid') },
  { name: 'resizeBilinear 4×4 → 7×7', inputs: () => [t([1, 4, 4, 2])], f: (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [7, 7]) },
  {
    name: 'GRU, two steps written with ops',
    inputs: () => [t([2, 3, 4]), t([4, 9], 2), t([3, 9], 3)],
    f: (x, w, u) => {
      let h = tf.zeros([2, 3]);
      for (const step of tf.unstack(x, 1)) h = gruStep(step, h, w, u);
      return h;
    },
  },
  { name: 'softmax', inputs: () => [t([3, 5])], f: (x) => tf.softmax(tf.mul(x, 3)) },
  { name: 'logSoftmax', inputs: () => [t([3, 5])], f: (x) => tf.logSoftmax(x) },
  { name: 'logSumExp', inputs: () => [t([3, 5])], f: (x) => tf.logSumExp(x, 1) },
  { name: 'sigmoid', inputs: () => [t([10])], f: (x) => tf.sigmoid(tf.mul(x, 4)) },
  { name: 'tanh', inputs: () => [t([10])], f: (x) => tf.tanh(tf.mul(x, 2)) },
  { name: 'relu / elu / leakyRelu', inputs: () => [t([12])], f: (x) => tf.stack([tf.relu(x), tf.elu(x), tf.leakyRelu(x, 0.1)]) },
  {
    name: 'exp / log / sqrt / pow / square / abs',
    inputs: () => [t([8])],
    f: (x) => {
      const p = tf.add(tf.abs(x), 0.5);
      return tf.concat([tf.exp(x), tf.log(p), tf.sqrt(p), tf.pow(p, 1.5), tf.square(x), tf.abs(x)]);
    },
  },
  { name: 'sum / mean / max / min', inputs: () => [t([3, 4])], f: (x) => tf.stack([tf.sum(x, 0), tf.mean(x, 0), tf.max(x, 0), tf.min(x, 0)]) },
  {
    name: 'maximum / minimum / clipByValue',
    inputs: () => [t([9]), t([9], 2)],
    f: (a, b) => tf.concat([tf.maximum(a, b), tf.minimum(a, b), tf.clipByValue(a, -0.3, 0.4)]),
  },
  {
    name: 'where / select (hinge with an identity mask)',
    inputs: () => [t([4, 4])],
    f: (s) => tf.where(tf.cast(tf.eye(4), 'bool'), tf.zerosLike(s), tf.relu(tf.add(tf.sub(s, tf.sum(tf.mul(s, tf.eye(4)), 1, true)), 0.2))),
  },
  { name: 'gather rows (embedding lookup)', inputs: () => [t([6, 3])], f: (table) => tf.gather(table, ids([0, 5, 5, 2, 0, 1], [2, 3])) },
  { name: 'gather along axis 1', inputs: () => [t([3, 5])], f: (x) => tf.gather(x, ids([4, 0, 4]), 1) },
  { name: 'unsortedSegmentSum', inputs: () => [t([6, 3])], f: (x) => tf.unsortedSegmentSum(x, ids([0, 2, 2, 1, 0, 3]) as tf.Tensor1D, 4) },
  { name: 'differentiable sort (GPO)', inputs: () => [t([2, 3, 6])], f: (x) => sortDescending(x) },
  { name: 'topk values (forward)', inputs: () => [t([3, 6])], f: (x) => tf.topk(x, 3).values, wrt: [] },
  {
    name: 'topk indices, argMax, oneHot (forward)',
    inputs: () => [t([3, 6])],
    f: (x) => tf.concat([tf.topk(x, 2).indices, tf.reshape(tf.argMax(x, 1), [3, 1]), tf.oneHot(tf.argMax(x, 1), 6)], 1),
    wrt: [],
  },
  {
    name: 'concat / stack / split / tile',
    inputs: () => [t([2, 3]), t([2, 3], 2)],
    f: (a, b) => {
      const [p, q] = tf.split(tf.concat([a, b], 1), [2, 4], 1);
      return tf.concat([tf.tile(p, [1, 2]), q, tf.reshape(tf.stack([a, b]), [2, 6]).slice([0, 0], [2, 4])], 1);
    },
  },
  {
    name: 'pad / slice / transpose / reverse',
    inputs: () => [t([3, 4])],
    f: (x) =>
      tf.reverse(
        tf.transpose(
          tf.slice(
            tf.pad(x, [
              [1, 0],
              [0, 2],
            ]),
            [1, 1],
            [3, 4],
          ),
        ),
        0,
      ),
  },
  // tfjs registers no StridedSlice gradient on any backend: models slice with tf.slice, which has one.
  { name: 'stridedSlice (forward)', inputs: () => [t([4, 6])], f: (x) => tf.stridedSlice(x, [0, 1], [4, 6], [2, 2]), wrt: [] },
  {
    name: 'cumsum (forward, exclusive, reverse)',
    inputs: () => [t([2, 5])],
    f: (x) => tf.stack([tf.cumsum(x, 1), tf.cumsum(x, 1, true), tf.cumsum(x, 1, false, true)]),
  },
  {
    name: 'l2 normalise + broadcast arithmetic',
    inputs: () => [t([3, 4]), t([4], 2)],
    f: (x, s) => tf.div(tf.mul(tf.sub(x, s), tf.add(s, 2)), tf.norm(x, 'euclidean', 1, true)),
  },
  { name: 'dropout (seeded)', inputs: () => [t([4, 5])], f: (x) => tf.dropout(x, 0.3, undefined, 7) },
  { name: 'softmax cross-entropy', inputs: () => [t([3, 5])], f: (logits) => tf.losses.softmaxCrossEntropy(tf.oneHot(ids([1, 4, 0]), 5), logits) },
];

describe('op coverage: forward and backward on every backend, against cpu', () => {
  restoreBackendAfterSuite();
  const backends = [...TEST_BACKENDS.slice(1), ...nativeTestBackends()];

  for (const { name, inputs, f, wrt } of CASES) {
    it(name, () =>
      assertSameOnBackends(
        name,
        () => {
          const xs = inputs();
          const out = f(...xs);
          const differentiable = wrt ?? xs.map((_, i) => i);
          if (differentiable.length === 0) return [out];
          const weights = t(out.shape, 99);
          const loss = (...chosen: tf.Tensor[]) => {
            const args = [...xs];
            differentiable.forEach((index, j) => (args[index] = chosen[j]));
            return tf.sum(tf.mul(f(...args), weights));
          };
          return [out, ...tf.grads(loss)(differentiable.map((i) => xs[i]))];
        },
        2e-4,
        2e-5,
        backends,
      ),
    );
  }
});

import { tf } from '../../backend/tf';
import type { Aggregator } from '../../contracts/image';
import { CONFORMANCE_EMBED_DIM, CONFORMANCE_LENGTHS, paddedFeatures } from '../tiny';
import { expectShape, type ModelDriver } from './driver';

/** `aggregator`: tokens `[B, N, D]` (D = 8), valid first → `[B, D]`; padded tokens must not change the result. */
export const aggregatorDriver: ModelDriver = {
  type: 'model',
  kind: 'aggregator',
  normalised: false,
  padding: true,
  subject(built, { rng }) {
    const aggregator = built as Aggregator;
    const d = CONFORMANCE_EMBED_DIM;
    const lengths = Int32Array.from(CONFORMANCE_LENGTHS);
    const n = Math.max(...lengths);
    const b = lengths.length;
    const tokens = paddedFeatures(CONFORMANCE_LENGTHS, n, d, rng, true) as unknown as tf.Variable;
    const noise = tf.tensor3d(
      Float32Array.from({ length: b * n * d }, () => rng.next() * 4 - 2),
      [b, n, d],
    );
    return {
      owner: aggregator,
      forward: (mode) => ({ pooled: aggregator.pool(tokens as unknown as tf.Tensor3D, lengths, mode) }),
      contract: ({ pooled }) => expectShape('pooled', pooled.shape, [b, d]),
      differentiable: ['pooled'],
      gradientInputs: new Map([['input tokens', tokens]]),
      paddingProbe: () => {
        const mode = { training: false, rng };
        const repadded = tf.tidy(() => {
          const valid = tf.tensor2d(Array.from(lengths, (k) => Array.from({ length: n }, (_, j) => (j < k ? 1 : 0)))).expandDims(2);
          return tokens.mul(valid).add(noise.mul(tf.scalar(1).sub(valid))) as tf.Tensor3D;
        });
        try {
          return {
            original: aggregator.pool(tokens as unknown as tf.Tensor3D, lengths, mode),
            repadded: aggregator.pool(repadded, lengths, mode),
            lengths: CONFORMANCE_LENGTHS,
          };
        } finally {
          repadded.dispose();
        }
      },
      inputTensors: [tokens],
      disposeInputs: () => [tokens, noise].forEach((t) => t.dispose()),
    };
  },
};

import { tf } from '../../backend/tf';
import type { Loss } from '../../contracts/training';
import { CONFORMANCE_EMBED_DIM, unitRows } from '../tiny';
import type { ModelDriver } from './driver';

/**
 * `loss`: L2-normalised image and caption embeddings `[B, D]` (B = 4, D = 8) → a scalar, during warm-up
 * (epoch 0) and after it (epoch 5); gradients must reach both inputs.
 */
export const lossDriver: ModelDriver = {
  type: 'model',
  kind: 'loss',
  normalised: false,
  padding: false,
  subject(built, { rng }) {
    const loss = built as Loss;
    const b = 4;
    const asVariable = (t: tf.Tensor2D): tf.Variable => {
      const v = tf.variable(t, true);
      t.dispose();
      return v;
    };
    const images = asVariable(unitRows(b, CONFORMANCE_EMBED_DIM, rng));
    const captions = asVariable(unitRows(b, CONFORMANCE_EMBED_DIM, rng));
    return {
      owner: loss,
      forward: () => ({
        'loss (epoch 0)': loss.compute(images as tf.Tensor2D, captions as tf.Tensor2D, { epoch: 0, step: 0 }),
        'loss (epoch 5)': loss.compute(images as tf.Tensor2D, captions as tf.Tensor2D, { epoch: 5, step: 100 }),
      }),
      contract: (outputs) =>
        Object.entries(outputs).flatMap(([name, t]) => (t.rank === 0 ? [] : [`${name} has shape [${t.shape.join(', ')}], expected a scalar`])),
      differentiable: ['loss (epoch 0)', 'loss (epoch 5)'],
      gradientInputs: new Map([
        ['input images', images],
        ['input captions', captions],
      ]),
      inputTensors: [images, captions],
      disposeInputs: () => [images, captions].forEach((t) => t.dispose()),
    };
  },
};

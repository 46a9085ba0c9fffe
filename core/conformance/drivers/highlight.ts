import { tf } from '../../backend/tf';
import type { HighlightModule } from '../../contracts/image';
import { CONFORMANCE_EMBED_DIM, CONFORMANCE_LENGTHS, conformanceImages, imageTensors, paddedFeatures } from '../tiny';
import { expectShape, type ModelDriver } from './driver';

/**
 * `highlight`: regions `[B, R, D]` (D = the plugin's `embedDim`, 8 by convention) + segmentation → `[B, R, D]`;
 * padded regions must not change the valid regions' outputs.
 */
export const highlightDriver: ModelDriver = {
  type: 'model',
  kind: 'highlight',
  normalised: false,
  padding: true,
  subject(built, { info, rng, args }) {
    const highlight = built as HighlightModule;
    const d = typeof args.embedDim === 'number' ? args.embedDim : CONFORMANCE_EMBED_DIM;
    const images = conformanceImages(info, rng);
    const segmentation = images.segmentation!;
    const lengths = Int32Array.from(CONFORMANCE_LENGTHS);
    const r = Math.max(...lengths);
    const regions = paddedFeatures(CONFORMANCE_LENGTHS, r, d, rng, true) as unknown as tf.Variable;
    const b = lengths.length;
    const noise = tf.tensor3d(
      Float32Array.from({ length: b * r * d }, () => rng.next() * 4 - 2),
      [b, r, d],
    );
    return {
      owner: highlight,
      forward: (mode) => ({ highlighted: highlight.highlight(regions as unknown as tf.Tensor3D, lengths, segmentation, mode) }),
      contract: ({ highlighted }) => expectShape('highlighted', highlighted.shape, [b, r, d]),
      differentiable: ['highlighted'],
      gradientInputs: new Map([['input regions', regions]]),
      paddingProbe: () => {
        const mode = { training: false, rng };
        const repadded = tf.tidy(() => {
          const valid = tf.tensor2d(Array.from(lengths, (n) => Array.from({ length: r }, (_, j) => (j < n ? 1 : 0)))).expandDims(2);
          return regions.mul(valid).add(noise.mul(tf.scalar(1).sub(valid))) as tf.Tensor3D;
        });
        try {
          return {
            original: highlight.highlight(regions as unknown as tf.Tensor3D, lengths, segmentation, mode),
            repadded: highlight.highlight(repadded, lengths, segmentation, mode),
            lengths: CONFORMANCE_LENGTHS,
          };
        } finally {
          repadded.dispose();
        }
      },
      inputTensors: [...imageTensors(images), regions],
      disposeInputs: () => [...imageTensors(images), regions, noise].forEach((t) => t.dispose()),
    };
  },
};

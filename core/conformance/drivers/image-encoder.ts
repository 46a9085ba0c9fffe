import type { ImageEncoder } from '../../contracts/image';
import { conformanceImages, imageTensors } from '../tiny';
import { expectShape, type ModelDriver } from './driver';

/** `image-encoder`: the whole image side (slots filled) → L2-normalised `[B, embedDim]`. */
export const imageEncoderDriver: ModelDriver = {
  type: 'model',
  kind: 'image-encoder',
  normalised: true,
  padding: false,
  subject(built, { info, rng, args }) {
    const encoder = built as ImageEncoder;
    const inputs = conformanceImages(info, rng);
    const problems =
      typeof args.embedDim === 'number' && args.embedDim !== encoder.embedDim ? [`embedDim is ${encoder.embedDim} but args.embedDim is ${args.embedDim}`] : [];
    return {
      owner: encoder,
      forward: (mode) => ({ embeddings: encoder.encode(inputs, mode) }),
      contract: ({ embeddings }) => [...problems, ...expectShape('embeddings', embeddings.shape, [inputs.batchSize, encoder.embedDim])],
      differentiable: ['embeddings'],
      normalised: 'embeddings',
      inputTensors: imageTensors(inputs),
      disposeInputs: () => imageTensors(inputs).forEach((t) => t.dispose()),
    };
  },
};

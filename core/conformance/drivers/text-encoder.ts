import type { TextEncoder } from '../../contracts/text';
import { CONFORMANCE_CAPTIONS } from '../tiny';
import { expectShape, type ModelDriver } from './driver';

/**
 * `text-encoder`: `prepare` with the training captions (each five times, as a data set gives them), then captions →
 * L2-normalised `[B, embedDim]`.
 */
export const textEncoderDriver: ModelDriver = {
  type: 'model',
  kind: 'text-encoder',
  normalised: true,
  padding: false,
  subject(built, { args }) {
    const encoder = built as TextEncoder;
    encoder.prepare?.(CONFORMANCE_CAPTIONS.flatMap((c) => [c, c, c, c, c]));
    const b = CONFORMANCE_CAPTIONS.length;
    const problems =
      typeof args.embedDim === 'number' && args.embedDim !== encoder.embedDim ? [`embedDim is ${encoder.embedDim} but args.embedDim is ${args.embedDim}`] : [];
    return {
      owner: encoder,
      forward: (mode) => ({ embeddings: encoder.encode(CONFORMANCE_CAPTIONS, mode) }),
      contract: ({ embeddings }) => [...problems, ...expectShape('embeddings', embeddings.shape, [b, encoder.embedDim])],
      differentiable: ['embeddings'],
      normalised: 'embeddings',
      inputTensors: [],
      disposeInputs: () => {},
    };
  },
};

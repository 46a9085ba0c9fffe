import type { Backbone } from '../../contracts/image';
import { conformanceImages, imageTensors } from '../tiny';
import { expectShape, type ModelDriver } from './driver';

/** `backbone`: `extract` gives features `[B, R', outputDim]`, zero past each of the B lengths (each ≤ R'). */
export const backboneDriver: ModelDriver = {
  type: 'model',
  kind: 'backbone',
  normalised: false,
  padding: false,
  subject(built, { info, rng }) {
    const backbone = built as Backbone;
    const inputs = conformanceImages(info, rng);
    const b = inputs.batchSize;
    let lastLengths: Int32Array = new Int32Array(0);
    return {
      owner: backbone,
      forward: (mode) => {
        const { features, lengths } = backbone.extract(inputs, mode);
        lastLengths = lengths;
        return { features };
      },
      contract: ({ features }) => {
        const problems = expectShape('features', features.shape, [b, null, backbone.outputDim]);
        if (lastLengths.length !== b) problems.push(`lengths has ${lastLengths.length} entries for ${b} images`);
        const width = features.shape[1] ?? 0;
        if ([...lastLengths].some((n) => n < 0 || n > width)) problems.push(`lengths [${lastLengths.join(', ')}] exceed the ${width} rows`);
        if (problems.length > 0 || features.rank !== 3) return problems;
        const rows = features.arraySync() as number[][][];
        lastLengths.forEach((n, i) => {
          if (rows[i].slice(n).some((row) => row.some((x) => x !== 0))) problems.push(`features of image ${i} are not zero past its length ${n}`);
        });
        return problems;
      },
      differentiable: ['features'],
      inputTensors: imageTensors(inputs),
      disposeInputs: () => imageTensors(inputs).forEach((t) => t.dispose()),
    };
  },
};

import type { Segmenter } from '../../contracts/image';
import { conformanceImages, imageTensors } from '../tiny';
import { expectShape, type ModelDriver } from './driver';

/** `segmenter`: classGrid `[B, C, g, g]`, labelMap `[B, m, m]` of class ids in [0, C), categories `[B, C]` in {0, 1}. */
export const segmenterDriver: ModelDriver = {
  type: 'model',
  kind: 'segmenter',
  normalised: false,
  padding: false,
  subject(built, { info, rng }) {
    const segmenter = built as Segmenter;
    const inputs = conformanceImages(info, rng);
    const b = inputs.batchSize;
    const { numClasses: c, gridSize: g, mapSize: m } = info;
    return {
      owner: segmenter,
      forward: (mode) => ({ ...segmenter.segment(inputs, mode) }),
      contract: ({ classGrid, labelMap, categories }) => {
        const problems = [
          ...expectShape('classGrid', classGrid.shape, [b, c, g, g]),
          ...expectShape('labelMap', labelMap.shape, [b, m, m]),
          ...expectShape('categories', categories.shape, [b, c]),
        ];
        const ids = labelMap.dataSync();
        const badId = ids.findIndex((x) => !Number.isInteger(x) || x < 0 || x >= c);
        if (badId >= 0) problems.push(`labelMap[${badId}] = ${ids[badId]} is not a class id in [0, ${c})`);
        const hot = categories.dataSync();
        const badHot = hot.findIndex((x) => x !== 0 && x !== 1);
        if (badHot >= 0) problems.push(`categories[${badHot}] = ${hot[badHot]} is not 0 or 1`);
        return problems;
      },
      differentiable: ['classGrid'],
      inputTensors: imageTensors(inputs),
      disposeInputs: () => imageTensors(inputs).forEach((t) => t.dispose()),
    };
  },
};

import type { Dataset } from '../../contracts/dataset';
import type { HostArray } from '../../contracts/data';
import { fail, failIfAny } from '../report';
import { shapeOf, type LightDriver } from './driver';

const CHECKS = {
  info: 'info: positive integer facts',
  split: 'split: five captions per image, records match info',
  unknown: 'split: an unknown name is refused',
} as const;

function expectHost(name: string, array: HostArray<Float32Array | Int32Array | Uint8Array> | undefined, shape: readonly number[]): string[] {
  if (!array) return [];
  const size = shape.reduce((a, b) => a * b, 1);
  const problems = shapeOf(array.shape) === shapeOf(shape) ? [] : [`${name} is ${shapeOf(array.shape)}, expected ${shapeOf(shape)}`];
  if (array.data.length !== size) problems.push(`${name} holds ${array.data.length} values for shape ${shapeOf(array.shape)}`);
  return problems;
}

/**
 * `dataset`: its `info` is made of positive integers; its first split has 5N captions and image records whose
 * shapes agree with `info`; an unknown split name is refused.
 */
export const datasetDriver: LightDriver = {
  type: 'light',
  kind: 'dataset',
  checks: Object.values(CHECKS),
  async run(built, recorder) {
    const dataset = built as Dataset;
    const info = dataset.info;
    await recorder.check(CHECKS.info, () => {
      const fields = Object.entries(info).filter(([, v]) => v !== undefined);
      failIfAny(fields.filter(([, v]) => !(Number.isInteger(v) && (v as number) > 0)).map(([k, v]) => `info.${k} = ${v}`));
      if (dataset.splits.length === 0) fail('no splits');
      return fields.map(([k, v]) => `${k} ${v}`).join(', ') + `; splits ${dataset.splits.join(', ')}`;
    });
    await recorder.check(CHECKS.split, async () => {
      const name = dataset.splits[0];
      const split = await dataset.open(name);
      try {
        const n = split.numImages;
        if (!(Number.isInteger(n) && n > 0)) fail(`split '${name}' has ${n} images`);
        const captions = split.captions();
        const problems = captions.length === 5 * n ? [] : [`split '${name}' has ${captions.length} captions for ${n} images (expected ${5 * n})`];
        if (captions.some((c) => typeof c !== 'string' || c.trim() === '')) problems.push('some captions are empty');
        const indices = [...new Set([0, n - 1])];
        const images = await split.loadImages(indices);
        const b = indices.length;
        if (images.indices.join() !== indices.join()) problems.push(`loadImages([${indices}]) returned indices [${images.indices}]`);
        const { featureDim: f, regionsPerImage: r, imageSize: s, numClasses: c, gridSize: g, mapSize: m } = info;
        if (f !== undefined && r !== undefined) problems.push(...expectHost('regions', images.regions, [b, r, f]));
        if (s !== undefined) problems.push(...expectHost('pixels', images.pixels, [b, s, s, 3]));
        if (images.segmentation) {
          problems.push(
            ...expectHost('classGrid', images.segmentation.classGrid, [b, c, g, g]),
            ...expectHost('labelMap', images.segmentation.labelMap, [b, m, m]),
            ...expectHost('categories', images.segmentation.categories, [b, c]),
          );
        }
        if (images.regionLengths && [...images.regionLengths].some((k) => k < 0 || (r !== undefined && k > r))) {
          problems.push(`regionLengths [${images.regionLengths.join(', ')}] outside [0, ${r}]`);
        }
        failIfAny(problems);
        return `split '${name}': ${n} images, ${captions.length} captions`;
      } finally {
        await split.close();
      }
    });
    await recorder.check(CHECKS.unknown, async () => {
      const name = 'conformance-no-such-split';
      let refused: unknown = null;
      try {
        const split = await dataset.open(name);
        await split.close();
      } catch (error) {
        refused = error;
      }
      if (refused === null) fail(`open('${name}') succeeded`);
      const message = refused instanceof Error ? refused.message : String(refused);
      if (!dataset.splits.every((s) => message.includes(s))) fail(`the error does not list the splits (${dataset.splits.join(', ')}): ${message}`);
      return message;
    });
  },
};

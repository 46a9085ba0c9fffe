import { tf } from '../backend/tf';
import type { HostArray, HostImages } from '../contracts/data';
import type { ImageInputs } from '../contracts/image';

/** Makes tensors from a host batch. The caller owns (and disposes) every tensor in the result. */
export function imageInputsFromHost(host: HostImages): ImageInputs {
  const tensor = <R extends tf.Rank>(array: HostArray | undefined): tf.Tensor<R> | undefined =>
    array ? (tf.tensor(array.data, [...array.shape] as number[], 'float32') as unknown as tf.Tensor<R>) : undefined;
  const segmentation = host.segmentation
    ? {
        classGrid: tensor<tf.Rank.R4>(host.segmentation.classGrid)!,
        labelMap: tensor<tf.Rank.R3>(host.segmentation.labelMap)!,
        categories: tensor<tf.Rank.R2>(host.segmentation.categories)!,
      }
    : undefined;
  return {
    batchSize: host.indices.length,
    regions: tensor<tf.Rank.R3>(host.regions),
    regionLengths: host.regionLengths,
    pixels: tensor<tf.Rank.R4>(host.pixels),
    boxes: tensor<tf.Rank.R3>(host.boxes),
    segmentation,
  };
}

/** Disposes every tensor of an {@link ImageInputs}. */
export function disposeImageInputs(inputs: ImageInputs): void {
  const owned: Array<tf.Tensor | undefined> = [inputs.regions, inputs.pixels, inputs.boxes];
  if (inputs.segmentation) owned.push(inputs.segmentation.classGrid, inputs.segmentation.labelMap, inputs.segmentation.categories);
  tf.dispose(owned.filter((t): t is tf.Tensor => t !== undefined));
}

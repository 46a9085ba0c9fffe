import { tf } from '../backend/tf';
import type { DatasetSplit } from '../contracts/dataset';
import type { ImageEncoder } from '../contracts/image';
import type { Rng } from '../contracts/services';
import { disposeImageInputs, imageInputsFromHost } from './inputs';

/**
 * Encodes the first `numImages` images of a split once each, in evaluation mode and in chunks of `chunk` images,
 * into a host array. The image half of `encodeSplit`, and all of `shnet encode --images-only`: no caption and no
 * text encoder is involved.
 *
 * @returns images `[N, D]` as a row-major Float32Array
 */
export async function encodeImages(split: DatasetSplit, numImages: number, imageEncoder: ImageEncoder, rng: Rng, chunk: number): Promise<Float32Array> {
  if (numImages > split.numImages) throw new RangeError(`split '${split.name}' has ${split.numImages} images, asked to encode ${numImages}`);
  const mode = { training: false, rng };
  const dim = imageEncoder.embedDim;
  const images = new Float32Array(numImages * dim);
  for (let start = 0; start < numImages; start += chunk) {
    const indices = Array.from({ length: Math.min(chunk, numImages - start) }, (_, i) => start + i);
    const inputs = imageInputsFromHost(await split.loadImages(indices));
    try {
      const embeddings = tf.tidy(() => imageEncoder.encode(inputs, mode));
      try {
        images.set(embeddings.dataSync() as Float32Array, start * dim);
      } finally {
        embeddings.dispose();
      }
    } finally {
      disposeImageInputs(inputs);
    }
  }
  return images;
}

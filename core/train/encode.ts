import { tf } from '../backend/tf';
import type { DatasetSplit } from '../contracts/dataset';
import type { EmbeddingSet } from '../contracts/evaluation';
import type { ImageEncoder } from '../contracts/image';
import type { Rng } from '../contracts/services';
import type { TextEncoder } from '../contracts/text';
import { disposeImageInputs, imageInputsFromHost } from './inputs';

/** Images (and captions) encoded per forward pass: bounds device memory whatever the split size. */
export const DEFAULT_ENCODE_CHUNK = 128;

/**
 * Encodes the first `numImages` images of a split once each, and their 5·numImages captions, in evaluation mode
 * and in chunks, into host arrays. Unlike the reference (which walks captions and encodes every image 5×), each
 * image is encoded once; in evaluation mode the result is the same.
 *
 * @returns images `[N, D]` and captions `[5N, D]` as row-major Float32Arrays
 */
export async function encodeSplit(
  split: DatasetSplit,
  numImages: number,
  encoders: { readonly imageEncoder: ImageEncoder; readonly textEncoder: TextEncoder },
  rng: Rng,
  chunk = DEFAULT_ENCODE_CHUNK,
): Promise<EmbeddingSet> {
  if (numImages > split.numImages) throw new RangeError(`split '${split.name}' has ${split.numImages} images, asked to encode ${numImages}`);
  const mode = { training: false, rng };
  const dim = encoders.imageEncoder.embedDim;
  const images = new Float32Array(numImages * dim);
  for (let start = 0; start < numImages; start += chunk) {
    const indices = Array.from({ length: Math.min(chunk, numImages - start) }, (_, i) => start + i);
    const inputs = imageInputsFromHost(await split.loadImages(indices));
    try {
      copyRows(
        tf.tidy(() => encoders.imageEncoder.encode(inputs, mode)),
        images,
        start * dim,
      );
    } finally {
      disposeImageInputs(inputs);
    }
  }
  const allCaptions = split.captions();
  const numCaptions = 5 * numImages;
  const captions = new Float32Array(numCaptions * dim);
  for (let start = 0; start < numCaptions; start += chunk) {
    const batch = allCaptions.slice(start, Math.min(numCaptions, start + chunk));
    copyRows(
      tf.tidy(() => encoders.textEncoder.encode(batch, mode)),
      captions,
      start * dim,
    );
  }
  return { images, captions, numImages, dim };
}

/** Copies `[b, D]` embeddings into `out` at `offset` and disposes them. */
function copyRows(embeddings: tf.Tensor2D, out: Float32Array, offset: number): void {
  try {
    out.set(embeddings.dataSync() as Float32Array, offset);
  } finally {
    embeddings.dispose();
  }
}

import { tf } from '../backend/tf';
import type { DatasetSplit } from '../contracts/dataset';
import type { EmbeddingSet } from '../contracts/evaluation';
import type { ImageEncoder } from '../contracts/image';
import type { Rng } from '../contracts/services';
import type { TextEncoder } from '../contracts/text';
import { UsageError } from '../errors';
import { encodeImages } from './encode-images';

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
  const allCaptions = split.captions();
  const numCaptions = 5 * numImages;
  if (allCaptions.length < numCaptions) {
    throw new UsageError(
      `split '${split.name}' has ${allCaptions.length} captions for ${numImages} images: an images-only split is encoded with shnet encode --images-only`,
    );
  }
  const mode = { training: false, rng };
  const dim = encoders.imageEncoder.embedDim;
  const images = await encodeImages(split, numImages, encoders.imageEncoder, rng, chunk);
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

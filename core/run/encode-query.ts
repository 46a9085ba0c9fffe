import { readFileSync } from 'node:fs';
import { tf } from '../backend/tf';
import type { DatasetSplit } from '../contracts/dataset';
import type { HostImages } from '../contracts/data';
import type { ForwardMode } from '../contracts/module';
import { UsageError } from '../errors';
import { decodePng, resizeToSquare } from '../io/png';
import { createRng } from '../services/rng';
import { disposeImageInputs, imageInputsFromHost } from '../train/inputs';
import type { LoadedModel } from './load-run';

/** Characters a text query may have: longer ones are refused rather than tokenized (a caption is a sentence). */
export const MAX_QUERY_CHARACTERS = 1000;

/** A text query encoded by a run's own text encoder. */
export interface EncodedText {
  /** The caption embedding `[D]`, unit norm. */
  readonly vector: Float32Array;
  /** Words the encoder's vocabulary lacks (encoded as its unknown token), in order; empty when it has no vocabulary. */
  readonly unknownWords: readonly string[];
}

/** Evaluation mode: no augmentation, no dropout; the stream is never drawn from. */
function evaluationMode(model: LoadedModel): ForwardMode {
  return { training: false, rng: createRng(model.state.seed ?? 0).fork('query') };
}

/**
 * Encodes `text` as a caption with the run's text encoder and vocabulary. Empty or over-long text, and text none of
 * whose words the vocabulary knows, are a {@link UsageError}: such a query would retrieve by the unknown token alone.
 */
export function encodeText(model: LoadedModel, text: string): EncodedText {
  const caption = checkQueryText(text);
  const encoder = model.built.textEncoder;
  const unknownWords = encoder.unknownWords?.(caption) ?? [];
  const words = caption.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
  if (words === 0 || (unknownWords.length > 0 && unknownWords.length >= words)) {
    throw new UsageError(words === 0 ? 'the query text has no words' : `none of the query's words is in the model's vocabulary (${unknownWords.join(', ')})`);
  }
  const mode = evaluationMode(model);
  const embedding = tf.tidy(() => encoder.encode([caption], mode));
  try {
    return { vector: embedding.dataSync() as Float32Array, unknownWords };
  } finally {
    embedding.dispose();
  }
}

/** `text` trimmed, or a {@link UsageError} when it is empty or too long (checkable before any model is loaded). */
export function checkQueryText(text: string): string {
  const caption = text.trim();
  if (caption === '') throw new UsageError('the query text is empty');
  if (caption.length > MAX_QUERY_CHARACTERS) {
    throw new UsageError(`the query text has ${caption.length} characters; at most ${MAX_QUERY_CHARACTERS} are accepted`);
  }
  return caption;
}

/** The embedding `[D]` of image `index` of `data`, as evaluation encodes it. */
export async function encodeImageOfSplit(model: LoadedModel, data: DatasetSplit, index: number): Promise<Float32Array> {
  if (!Number.isInteger(index) || index < 0 || index >= data.numImages) {
    throw new UsageError(`image ${index} is not in split '${data.name}' (images 0..${data.numImages - 1})`);
  }
  return encodeHostImage(model, await data.loadImages([index]));
}

/**
 * The embedding `[D]` of a PNG picture, resized to the data set's image side. Only models that read nothing but
 * pixels can encode it (a CNN backbone without boxes, a segmenter that works from pixels or none): for others the
 * error says which input the picture lacks.
 */
export function encodeImageFile(model: LoadedModel, path: string): Float32Array {
  const size = model.built.dataset.info.imageSize;
  if (size === undefined) throw new UsageError(`--image ${path}: the run's data set has no pixels (its model reads precomputed features)`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UsageError(`--image ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const picture = decodePng(bytes, path);
  const host: HostImages = { indices: [0], pixels: { data: resizeToSquare(picture, size), shape: [1, size, size, 3] } };
  try {
    return encodeHostImage(model, host);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(
      `--image ${path}: this model cannot encode a picture on its own (${error.message}); pictures work with recipes that ` +
        'read only pixels (backbone cnn with output: grid, and a learned segmenter or none). Give an image of the split by its number instead',
    );
  }
}

function encodeHostImage(model: LoadedModel, host: HostImages): Float32Array {
  const mode = evaluationMode(model);
  const inputs = imageInputsFromHost(host);
  try {
    const embedding = tf.tidy(() => model.built.imageEncoder.encode(inputs, mode));
    try {
      return embedding.dataSync() as Float32Array;
    } finally {
      embedding.dispose();
    }
  } finally {
    disposeImageInputs(inputs);
  }
}

import { tf } from '../backend/tf';
import type { Rng } from '../contracts/services';
import { RunFailure } from '../errors';
import { disposeImageInputs, imageInputsFromHost } from '../train/inputs';
import type { BuiltRun } from '../build/build-run';

/**
 * Runs the built model once, in evaluation mode, on the first images and captions of a split and checks the
 * embeddings: shape `[B, D]`, equal D on both sides, finite, unit norm. Catches wiring mistakes (wrong widths,
 * a segmenter that needs data the data set lacks) before any training time is spent.
 */
export async function checkModel(built: BuiltRun, split: string, rng: Rng, images = 4): Promise<{ batch: number; dim: number }> {
  const data = await built.dataset.open(split);
  try {
    const count = Math.min(images, data.numImages);
    const indices = Array.from({ length: count }, (_, i) => i);
    const host = await data.loadImages(indices);
    const captions = indices.map((i) => data.captions()[5 * i]);
    built.textEncoder.prepare?.(data.captions());
    const inputs = imageInputsFromHost(host);
    try {
      const mode = { training: false, rng };
      const [imageNorms, textNorms, imageShape, textShape] = tf.tidy(() => {
        const img = built.imageEncoder.encode(inputs, mode);
        const txt = built.textEncoder.encode(captions, mode);
        return [tf.norm(img, 2, 1).arraySync() as number[], tf.norm(txt, 2, 1).arraySync() as number[], img.shape, txt.shape];
      });
      const problems: string[] = [];
      if (imageShape[0] !== count || textShape[0] !== count)
        problems.push(`batch ${count} gave image ${JSON.stringify(imageShape)} and caption ${JSON.stringify(textShape)} embeddings`);
      if (imageShape[1] !== textShape[1]) problems.push(`image embeddings are ${imageShape[1]}-d but caption embeddings are ${textShape[1]}-d`);
      const bad = [...imageNorms, ...textNorms].filter((n) => !Number.isFinite(n) || Math.abs(n - 1) > 1e-3);
      if (bad.length > 0) problems.push(`embeddings are not finite unit vectors (norms ${bad.slice(0, 3).join(', ')})`);
      if (problems.length > 0) throw new RunFailure(`model check on split '${split}' failed: ${problems.join('; ')}`);
      return { batch: count, dim: imageShape[1] };
    } finally {
      disposeImageInputs(inputs);
    }
  } finally {
    await data.close();
  }
}

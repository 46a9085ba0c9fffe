/**
 * The conformance suite's sizes and inputs: small enough for the cpu backend, seeded so a report is reproducible.
 *
 * Conventions a plugin author can rely on:
 * - model plugins are built against {@link CONFORMANCE_DATA_INFO} (C = 5 classes, F = 12, R = 4, 16×16 pixels,
 *   8×8 label maps, 3×3 class grids);
 * - an options schema with an `embedDim` property gets `embedDim: 8` ({@link CONFORMANCE_EMBED_DIM}); widths a
 *   plugin derives from it (highlights, aggregators, losses) see D = 8 too;
 * - batches hold B = 3 images with 4, 2 and 3 valid regions (one full row, two padded).
 */
import { tf } from '../backend/tf';
import type { ImageInputs } from '../contracts/image';
import type { DataInfo, Rng } from '../contracts/services';

export const CONFORMANCE_DATA_INFO: DataInfo = { numClasses: 5, featureDim: 12, regionsPerImage: 4, imageSize: 16, mapSize: 8, gridSize: 3 };

/** The width D every `embedDim` option is set to, and the token width of aggregator and loss inputs. */
export const CONFORMANCE_EMBED_DIM = 8;

/** Valid regions (or tokens) per row of a conformance batch: one full row, two padded ones. */
export const CONFORMANCE_LENGTHS: readonly number[] = [4, 2, 3];

/** Captions of a conformance batch (one per image); `prepare` sees each five times, as a data set gives them. */
export const CONFORMANCE_CAPTIONS: readonly string[] = ['a man rides a horse on the beach', 'two dogs run by the sea', 'a bowl of soup on the table'];

/** `n` values uniform in [lo, hi) from `rng`. */
export function uniform(n: number, rng: Rng, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
}

/** `[rows, cols]` rows of unit length (random directions). */
export function unitRows(rows: number, cols: number, rng: Rng): tf.Tensor2D {
  return tf.tidy(() => {
    const x = tf.tensor2d(uniform(rows * cols, rng), [rows, cols]);
    return x.div(x.norm(2, 1, true)) as tf.Tensor2D;
  });
}

/**
 * `[B, R, D]` random features, zero past each row's length (as data sets pad them), as a trainable variable when
 * asked (so the suite can check that gradients reach it).
 */
export function paddedFeatures(lengths: readonly number[], width: number, dim: number, rng: Rng, variable = false): tf.Tensor3D {
  const b = lengths.length;
  const values = uniform(b * width * dim, rng);
  lengths.forEach((n, i) => values.fill(0, (i * width + n) * dim, (i + 1) * width * dim));
  const tensor = tf.tensor3d(values, [b, width, dim]);
  if (!variable) return tensor;
  const v = tf.variable(tensor, true);
  tensor.dispose();
  return v as unknown as tf.Tensor3D;
}

/**
 * A batch with every image-side field a data set may supply: regions `[B, R, F]`, pixels `[B, S, S, 3]`, boxes
 * `[B, R, 4]`, and the segmentation (class grid `[B, C, g, g]`, integer label map `[B, m, m]`, multi-hot `[B, C]`).
 */
export function conformanceImages(info: DataInfo, rng: Rng, lengths: readonly number[] = CONFORMANCE_LENGTHS): ImageInputs {
  const b = lengths.length;
  const r = info.regionsPerImage ?? Math.max(...lengths);
  const f = info.featureDim ?? 12;
  const s = info.imageSize ?? 16;
  const { numClasses: c, gridSize: g, mapSize: m } = info;
  const boxes = new Float32Array(b * r * 4);
  for (let i = 0; i < b * r; i++) {
    const [x0, y0] = [rng.next() * 0.5, rng.next() * 0.5];
    boxes.set([x0, y0, x0 + 0.1 + rng.next() * 0.4, y0 + 0.1 + rng.next() * 0.4], i * 4);
  }
  const categories = Float32Array.from({ length: b * c }, () => (rng.next() < 0.5 ? 1 : 0));
  return {
    batchSize: b,
    regions: paddedFeatures(lengths, r, f, rng),
    regionLengths: Int32Array.from(lengths),
    pixels: tf.tensor4d(uniform(b * s * s * 3, rng, 0, 1), [b, s, s, 3]),
    boxes: tf.tensor3d(boxes, [b, r, 4]),
    segmentation: {
      classGrid: tf.tensor4d(uniform(b * c * g * g, rng), [b, c, g, g]),
      labelMap: tf.tensor3d(
        Float32Array.from({ length: b * m * m }, () => rng.int(c)),
        [b, m, m],
      ),
      categories: tf.tensor2d(categories, [b, c]),
    },
  };
}

/** Every tensor of an {@link ImageInputs}. */
export function imageTensors(inputs: ImageInputs): tf.Tensor[] {
  const seg = inputs.segmentation;
  const all: (tf.Tensor | undefined)[] = [inputs.regions, inputs.pixels, inputs.boxes, seg?.classGrid, seg?.labelMap, seg?.categories];
  return all.filter((t): t is tf.Tensor => t != null);
}

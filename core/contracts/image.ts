import type { Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs';
import type { ForwardMode, ParameterOwner } from './module';

/** Segmentation tensors for a batch (the three outputs of a segmenter, docs/model.md). */
export interface Segmentation {
  /** Class-score grid `[B, C, g, g]`. */
  readonly classGrid: Tensor4D;
  /** Label map of class ids as floats `[B, m, m]`. */
  readonly labelMap: Tensor3D;
  /** Category multi-hot `[B, C]`. */
  readonly categories: Tensor2D;
}

/** Image-side tensors for a batch, made by the engine from {@link HostImages}. */
export interface ImageInputs {
  readonly batchSize: number;
  /** `[B, R, F]` precomputed features, when the data set has them. */
  readonly regions?: Tensor3D;
  /** Valid regions per image, `[B]` (host side: lengths drive compaction and masks). */
  readonly regionLengths?: Int32Array;
  /** `[B, H, W, 3]` pixels in [0, 1], when the data set has them. */
  readonly pixels?: Tensor4D;
  /** `[B, R, 4]` boxes in [0, 1]. */
  readonly boxes?: Tensor3D;
  /** Segmentation supplied by the data set. */
  readonly segmentation?: Segmentation;
}

/** Region or grid features with their valid lengths. */
export interface RegionFeatures {
  /** `[B, R, F]`, zero past each length. */
  readonly features: Tensor3D;
  /** `[B]` valid regions per image. */
  readonly lengths: Int32Array;
}

/** `backbone`: pixels or precomputed features → region/grid features. */
export interface Backbone extends ParameterOwner {
  /** Feature width F of the output. */
  readonly outputDim: number;
  /** @returns features `[B, R, F]`; in training it may drop regions (region dropout), shortening `lengths`. */
  extract(inputs: ImageInputs, mode: ForwardMode): RegionFeatures;
}

/** `segmenter`: produces the three segmentation inputs of 3SHNet (from the data set's arrays, or from pixels). */
export interface Segmenter extends ParameterOwner {
  /**
   * Call inside a `tf.tidy` scope and never dispose the result by hand: it may be the batch's own tensors
   * (`precomputed`) or new ones (computed from a label map or from pixels), which the scope releases.
   * @returns classGrid `[B, C, 7, 7]`, labelMap `[B, 64, 64]`, categories `[B, C]`.
   */
  segment(inputs: ImageInputs, mode: ForwardMode): Segmentation;
  /**
   * Segmenters with weights: per-pixel class logits `[B, m, m, C]` for training on ground-truth label maps (the
   * segmenter stage, `stage: segmenter`). The three outputs of {@link segment} are derived from these.
   */
  pixelLogits?(inputs: ImageInputs, mode: ForwardMode): Tensor4D;
}

/**
 * `highlight`: a self-highlighting module (VSeM, VSpM, …). Takes region embeddings and the segmentation and returns
 * highlighted region embeddings of the same shape.
 */
export interface HighlightModule extends ParameterOwner {
  /**
   * @param regions `[B, R, D]` region embeddings (V0 in docs/model.md: the fc output)
   * @param lengths `[B]` valid regions per image; padded regions must not influence valid regions' attention
   * @returns `[B, R, D]`; rows past each length are unspecified (the reference leaves them non-zero, and they enter
   *   the fusion MLP's BatchNorm statistics, so zeroing them would change the valid outputs in training)
   */
  highlight(regions: Tensor3D, lengths: Int32Array, segmentation: Segmentation, mode: ForwardMode): Tensor3D;
}

/** `aggregator`: a variable-length token set → one vector. */
export interface Aggregator extends ParameterOwner {
  /**
   * @param tokens `[B, N, D]`, valid tokens first in each row
   * @param lengths `[B]` valid tokens per row
   * @returns `[B, D]`
   */
  pool(tokens: Tensor3D, lengths: Int32Array, mode: ForwardMode): Tensor2D;
}

/** `image-encoder`: the whole image side, assembled from its slots. */
export interface ImageEncoder extends ParameterOwner {
  /** Embedding width D. */
  readonly embedDim: number;
  /** @returns L2-normalised image embeddings `[B, D]`. */
  encode(inputs: ImageInputs, mode: ForwardMode): Tensor2D;
}

/**
 * Host-side (plain typed array) batch records. Data sets produce these off the compute path so the next batch can
 * be prepared while the current one runs; the engine turns them into tensors.
 */

/** A dense row-major array with its shape. */
export interface HostArray<T extends Float32Array | Int32Array | Uint8Array = Float32Array> {
  readonly data: T;
  readonly shape: readonly number[];
}

/** Segmentation inputs of 3SHNet for a batch of B images (C classes). */
export interface HostSegmentation {
  /** Class-score grid `[B, C, g, g]` (g = 7). */
  readonly classGrid: HostArray;
  /** Label map of class ids as floats `[B, m, m]` (m = 64). */
  readonly labelMap: HostArray;
  /** Category multi-hot `[B, C]`. */
  readonly categories: HostArray;
}

/** Image-side inputs for B images; which fields are present depends on the data set. */
export interface HostImages {
  /** Data set indices of the images. */
  readonly indices: readonly number[];
  /** Precomputed region or grid features `[B, R, F]`, zero-padded past each image's length. */
  readonly regions?: HostArray;
  /** Valid regions per image, `[B]`. */
  readonly regionLengths?: Int32Array;
  /** RGB pixels in [0, 1], `[B, H, W, 3]`. */
  readonly pixels?: HostArray;
  /** Ground-truth or detected boxes `[B, R, 4]` as (x0, y0, x1, y1) in [0, 1], for region pooling from pixels. */
  readonly boxes?: HostArray;
  /** Segmentation supplied by the data set (precomputed arrays or ground truth). */
  readonly segmentation?: HostSegmentation;
}

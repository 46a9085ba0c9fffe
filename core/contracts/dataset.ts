import type { HostImages } from './data';
import type { DataInfo } from './services';

/** One split of an image–caption data set: N images, five captions each, caption j belongs to image ⌊j/5⌋. */
export interface DatasetSplit {
  readonly name: string;
  readonly numImages: number;
  /**
   * The 5N captions in data set order. An images-only split (features without captions, such as one written by
   * `shnet data wrap` without `--captions`) has none: it can be encoded (`shnet encode --images-only`), not trained
   * or evaluated on.
   */
  captions(): readonly string[];
  /** Image-side records for the given image indices, in that order (may read from disk). */
  loadImages(indices: readonly number[]): Promise<HostImages>;
  /**
   * Image `index` as PNG bytes, for people to look at (`shnet data show`, `shnet report`, `shnet serve`); with
   * `overlay`, its ground-truth segmentation drawn over it. Data sets without pictures (precomputed features only)
   * leave it out.
   */
  renderImage?(index: number, options?: RenderOptions): Promise<Uint8Array>;
  /**
   * Facts about each caption that split it into groups for per-group recall in `shnet report` (for example "objects
   * in the image": 2, 3 or 4), one label per caption in data set order. Optional: the report always groups captions
   * by whether they state a spatial relation, from their words.
   */
  captionFacets?(): readonly CaptionFacet[];
  /** Releases file handles. */
  close(): Promise<void>;
}

/** How {@link DatasetSplit.renderImage} draws an image. */
export interface RenderOptions {
  /** Draw the ground-truth segmentation over the pixels (each class its own colour, outlined). */
  readonly overlay?: boolean;
  /** Magnification: each pixel becomes a `scale × scale` block (default chosen by the data set). */
  readonly scale?: number;
}

/** One way of grouping a split's captions: its name and a label for each of the 5N captions. */
export interface CaptionFacet {
  /** What the labels say, e.g. "objects in the image". */
  readonly name: string;
  /** One label per caption, data set order. */
  readonly labels: readonly string[];
}

/** `dataset`: a named set of splits and the facts the model must agree with. */
export interface Dataset {
  readonly info: DataInfo;
  /** Split names this data set has (`train`, `dev`, `test`, `testall`). */
  readonly splits: readonly string[];
  /** Opens a split; an unknown name is an error listing the splits. */
  open(split: string): Promise<DatasetSplit>;
}

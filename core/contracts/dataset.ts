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
  /** Releases file handles. */
  close(): Promise<void>;
}

/** `dataset`: a named set of splits and the facts the model must agree with. */
export interface Dataset {
  readonly info: DataInfo;
  /** Split names this data set has (`train`, `dev`, `test`, `testall`). */
  readonly splits: readonly string[];
  /** Opens a split; an unknown name is an error listing the splits. */
  open(split: string): Promise<DatasetSplit>;
}

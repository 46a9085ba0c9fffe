/**
 * Generating one split image by image: the scene, the five captions, and the image-side record (pixels, region
 * boxes and descriptors, and the three segmentation inputs) written into preallocated buffers. Image i depends only
 * on (seed, split, i), so the in-memory cache fills lazily and the exporter streams in chunks with the same bytes.
 */
import { KeyedRandom, combineKey } from './random';
import { type Raster, objectBoxes, rasterise } from './raster';
import { describeRegion, regionBoxes } from './regions';
import { type Scene, type SceneConfig, sceneAt } from './scene';
import { captionScene } from './captions';
import { categories, classGrid, resizeLabels } from './segmentation';
import type { ShapesOptions } from './options';
import { NUM_CLASSES } from './vocabulary';

/** Side of the label map and of the class-score grid, fixed by 3SHNet (docs/model.md). */
export const MAP_SIZE = 64;
export const GRID_SIZE = 7;

/** Image-side records of `count` images, row-major, one row per image. */
export interface RecordBuffers {
  readonly count: number;
  /** `[N, S, S, 3]` RGB bytes. */
  readonly pixels: Uint8Array;
  /** `[N, R, F]` region descriptors. */
  readonly regions: Float32Array;
  /** `[N, R, 4]` boxes (x0, y0, x1, y1) in [0, 1]. */
  readonly boxes: Float32Array;
  /** `[N, C, 7, 7]` class-score grid. */
  readonly classGrid: Float32Array;
  /** `[N, 64, 64]` class ids. */
  readonly labelMap: Uint8Array;
  /** `[N, C]` category multi-hot. */
  readonly categories: Float32Array;
}

/** Row widths (elements per image) of each record field. */
export interface RecordLayout {
  readonly imageSize: number;
  readonly regions: number;
  readonly featureDim: number;
  readonly numClasses: number;
}

export function recordLayout(options: ShapesOptions): RecordLayout {
  return {
    imageSize: options.imageSize,
    regions: options.regionsPerImage,
    featureDim: options.featureDim,
    numClasses: NUM_CLASSES,
  };
}

export function allocateRecords(layout: RecordLayout, count: number): RecordBuffers {
  const { imageSize: s, regions: r, featureDim: f, numClasses: c } = layout;
  return {
    count,
    pixels: new Uint8Array(count * s * s * 3),
    regions: new Float32Array(count * r * f),
    boxes: new Float32Array(count * r * 4),
    classGrid: new Float32Array(count * c * GRID_SIZE * GRID_SIZE),
    labelMap: new Uint8Array(count * MAP_SIZE * MAP_SIZE),
    categories: new Float32Array(count * c),
  };
}

/** The splits `shapes` has, and their size options. */
export const SPLIT_SIZES = { train: 'trainSize', dev: 'devSize', test: 'testSize' } as const;
export type SplitName = keyof typeof SPLIT_SIZES;
export const SPLIT_NAMES = Object.keys(SPLIT_SIZES) as SplitName[];

/** Generates the images of one split. */
export class SplitGenerator {
  readonly numImages: number;
  readonly layout: RecordLayout;
  private readonly key: number;
  private readonly config: SceneConfig;
  private readonly scratch: Raster;

  constructor(
    private readonly options: ShapesOptions,
    readonly split: SplitName,
  ) {
    this.numImages = options[SPLIT_SIZES[split]];
    this.layout = recordLayout(options);
    // Each split has its own key derived from the seed, so train, dev and test never share an image.
    this.key = combineKey(options.seed, split);
    this.config = options;
    const pixelCount = options.imageSize * options.imageSize;
    this.scratch = {
      pixels: new Uint8Array(3 * pixelCount),
      labels: new Uint8Array(pixelCount),
      instances: new Uint8Array(pixelCount),
    };
  }

  scene(index: number): Scene {
    return sceneAt(this.key, index, this.config);
  }

  /** The five captions of image `index`. */
  captions(index: number): string[] {
    const scene = this.scene(index);
    const partner = scene.partner === null ? null : this.scene(scene.partner);
    return captionScene(scene, partner, this.options.imageSize, this.stream(index, 'captions'));
  }

  /** Image `index` drawn at the data set's image size: pixels, class and instance planes (a fresh copy). */
  raster(index: number): Raster {
    const pixelCount = this.options.imageSize * this.options.imageSize;
    const raster = { pixels: new Uint8Array(3 * pixelCount), labels: new Uint8Array(pixelCount), instances: new Uint8Array(pixelCount) };
    rasterise(this.scene(index), this.options.imageSize, this.options.noise, this.stream(index, 'paint'), raster);
    return raster;
  }

  /** Writes image `index`'s record into row `row` of `out`. */
  write(index: number, out: RecordBuffers, row: number): void {
    const { imageSize: s, regions: r, featureDim: f, numClasses: c } = this.layout;
    const raster = this.scratch;
    const scene = this.scene(index);
    rasterise(scene, s, this.options.noise, this.stream(index, 'paint'), raster);
    out.pixels.set(raster.pixels, row * s * s * 3);
    resizeLabels(raster.labels, s, MAP_SIZE, out.labelMap, row * MAP_SIZE * MAP_SIZE);
    classGrid(raster.labels, s, c, GRID_SIZE, out.classGrid, row * c * GRID_SIZE * GRID_SIZE);
    categories(raster.labels, c, out.categories, row * c);
    const boxes = regionBoxes(objectBoxes(scene, raster.instances, s), r, s, this.stream(index, 'regions'));
    out.regions.fill(0, row * r * f, (row + 1) * r * f);
    boxes.forEach((box, k) => {
      describeRegion(raster.pixels, raster.labels, s, box, this.options.regionPosition, out.regions, (row * r + k) * f);
      for (let j = 0; j < 4; j++) out.boxes[(row * r + k) * 4 + j] = box[j] / s;
    });
  }

  private stream(index: number, purpose: string): KeyedRandom {
    return new KeyedRandom(this.key, index, purpose);
  }
}

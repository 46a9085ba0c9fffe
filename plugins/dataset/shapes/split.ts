/**
 * One split of `shapes` held in memory: captions for all images up front (cheap), image records generated on first
 * use and kept as bytes where they can be (pixels, label map), converted to float per batch.
 */
import type { DatasetSplit, HostImages } from 'shnet';

import { GRID_SIZE, MAP_SIZE, type RecordBuffers, type SplitGenerator, allocateRecords } from './generator';

export class ShapesSplit implements DatasetSplit {
  readonly name: string;
  readonly numImages: number;
  private captionList: string[] | null = null;
  private records: RecordBuffers | null = null;
  private readonly ready: Uint8Array;

  constructor(private readonly generator: SplitGenerator) {
    this.name = generator.split;
    this.numImages = generator.numImages;
    this.ready = new Uint8Array(this.numImages);
  }

  captions(): readonly string[] {
    if (!this.captionList) {
      const list: string[] = [];
      for (let i = 0; i < this.numImages; i++) list.push(...this.generator.captions(i));
      this.captionList = list;
    }
    return this.captionList;
  }

  /**
   * Records of `indices` (B images): regions `[B, R, F]`, regionLengths `[B]` (all R), pixels `[B, S, S, 3]` in
   * [0, 1], boxes `[B, R, 4]`, and segmentation: classGrid `[B, C, 7, 7]`, labelMap `[B, 64, 64]`, categories `[B, C]`.
   */
  async loadImages(indices: readonly number[]): Promise<HostImages> {
    const records = this.ensure(indices);
    const { imageSize: s, regions: r, featureDim: f, numClasses: c } = this.generator.layout;
    const b = indices.length;
    // Typed-array `set` converts bytes to floats natively.
    const gather = (src: Float32Array | Uint8Array, width: number, out: Float32Array): Float32Array => {
      indices.forEach((index, row) => out.set(src.subarray(index * width, (index + 1) * width), row * width));
      return out;
    };
    const pixels = gather(records.pixels, s * s * 3, new Float32Array(b * s * s * 3));
    for (let k = 0; k < pixels.length; k++) pixels[k] /= 255;
    const grid = c * GRID_SIZE * GRID_SIZE;
    return {
      indices: [...indices],
      regions: { data: gather(records.regions, r * f, new Float32Array(b * r * f)), shape: [b, r, f] },
      regionLengths: new Int32Array(b).fill(r),
      pixels: { data: pixels, shape: [b, s, s, 3] },
      boxes: { data: gather(records.boxes, r * 4, new Float32Array(b * r * 4)), shape: [b, r, 4] },
      segmentation: {
        classGrid: {
          data: gather(records.classGrid, grid, new Float32Array(b * grid)),
          shape: [b, c, GRID_SIZE, GRID_SIZE],
        },
        labelMap: {
          data: gather(records.labelMap, MAP_SIZE * MAP_SIZE, new Float32Array(b * MAP_SIZE * MAP_SIZE)),
          shape: [b, MAP_SIZE, MAP_SIZE],
        },
        categories: { data: gather(records.categories, c, new Float32Array(b * c)), shape: [b, c] },
      },
    };
  }

  async close(): Promise<void> {
    this.records = null;
    this.ready.fill(0);
  }

  /** The split's record buffers with every image of `indices` generated. */
  private ensure(indices: readonly number[]): RecordBuffers {
    for (const index of indices) {
      if (!Number.isInteger(index) || index < 0 || index >= this.numImages) {
        throw new RangeError(`shapes/${this.name}: image index ${index} is outside 0..${this.numImages - 1}`);
      }
    }
    this.records ??= allocateRecords(this.generator.layout, this.numImages);
    for (const index of indices) {
      if (this.ready[index]) continue;
      this.generator.write(index, this.records, index);
      this.ready[index] = 1;
    }
    return this.records;
  }
}

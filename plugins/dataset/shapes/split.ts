/**
 * One split of `shapes` held in memory: captions for all images up front (cheap), image records generated on first
 * use and kept as bytes where they can be (pixels, label map), converted to float per batch.
 */
import type { CaptionFacet, DatasetSplit, HostImages, RenderOptions } from 'shnet';

import { countNamedObjects } from './captions';
import { GRID_SIZE, MAP_SIZE, type RecordBuffers, type SplitGenerator, allocateRecords } from './generator';
import { renderPng } from './render';
import type { Scene } from './scene';

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

  /** The scene of image `index`: its objects and their positions, and its hard-negative partner. */
  scene(index: number): Scene {
    this.checkIndex(index);
    return this.generator.scene(index);
  }

  /** The pixels magnified to about 256 px; with `overlay`, the ground-truth segmentation drawn over them. */
  async renderImage(index: number, options: RenderOptions = {}): Promise<Uint8Array> {
    this.checkIndex(index);
    return renderPng(this.generator.raster(index), this.generator.layout.imageSize, options);
  }

  /**
   * Objects in the image (2–4), objects the caption names (2 or 3: its template), and whether the image has a layout
   * twin in the split (a hard-negative pair: same objects, other positions, told apart only by spatial relations).
   */
  captionFacets(): readonly CaptionFacet[] {
    const captions = this.captions();
    const scenes = Array.from({ length: this.numImages }, (_, i) => this.generator.scene(i));
    const perCaption = (label: (scene: Scene) => string) => captions.map((_, j) => label(scenes[Math.floor(j / 5)]));
    return [
      { name: 'objects in the image', labels: perCaption((s) => String(s.objects.length)) },
      { name: 'objects named in the caption', labels: captions.map((c) => String(countNamedObjects(c))) },
      { name: 'image has a layout twin (hard negative)', labels: perCaption((s) => (s.partner === null ? 'no' : 'yes')) },
    ];
  }

  async close(): Promise<void> {
    this.records = null;
    this.ready.fill(0);
  }

  /** The split's record buffers with every image of `indices` generated. */
  private ensure(indices: readonly number[]): RecordBuffers {
    for (const index of indices) this.checkIndex(index);
    this.records ??= allocateRecords(this.generator.layout, this.numImages);
    for (const index of indices) {
      if (this.ready[index]) continue;
      this.generator.write(index, this.records, index);
      this.ready[index] = 1;
    }
    return this.records;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.numImages) {
      throw new RangeError(`shapes/${this.name}: image index ${index} is outside 0..${this.numImages - 1}`);
    }
  }
}

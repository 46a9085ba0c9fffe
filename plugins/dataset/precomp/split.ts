import { join } from 'node:path';
import { type DatasetSplit, type HostImages, NpyReader, UsageError } from 'shnet';

import { readNpyHeader } from 'shnet';

import { readLines, type SplitFiles } from './files';

/** Images of a split without captions: the rows of its feature array, or its ids (one per image). */
function imagesWithoutCaptions(files: SplitFiles): number {
  if (files.features) return readNpyHeader(files.features).shape[0] ?? 0;
  return readLines(files.perImage!.ids).length;
}

/** Shapes every split of a data set must agree on. */
export interface PrecompShapes {
  readonly regions: number;
  readonly featureDim: number;
  readonly numClasses: number;
  readonly gridSize: number;
  readonly mapSize: number;
}

/**
 * One split read by positioned reads: headers are parsed and cross-checked when the split opens, rows are read
 * on demand, so memory does not grow with the split (the COCO train split is ~33 GB of features).
 */
export class PrecompSplit implements DatasetSplit {
  private constructor(
    readonly name: string,
    readonly numImages: number,
    private readonly captionLines: readonly string[],
    private readonly features: NpyReader | { ids: readonly string[]; dir: string },
    private readonly classGrid: NpyReader | null,
    private readonly labelMap: NpyReader | null,
    private readonly categories: NpyReader | null,
    private readonly shapes: PrecompShapes,
  ) {}

  /**
   * Opens and validates a split: caption count = 5 × images, and every array's shape against the others. Without a
   * captions file the split is images-only and its image count is the features' (`{split}_ims.npy` rows or ids).
   */
  static open(name: string, files: SplitFiles, shapes: PrecompShapes, withSegmentation: boolean): PrecompSplit {
    const captions = files.captions === undefined ? [] : readLines(files.captions);
    if (files.captions !== undefined && (captions.length === 0 || captions.length % 5 !== 0)) {
      throw new UsageError(`${files.captions}: ${captions.length} captions, expected 5 per image (a multiple of 5)`);
    }
    const images = files.captions !== undefined ? captions.length / 5 : imagesWithoutCaptions(files);
    const { regions: r, featureDim: f, numClasses: c, gridSize: g, mapSize: m } = shapes;
    let features: PrecompSplit['features'];
    if (files.features) {
      features = NpyReader.open(files.features, { expectShape: [images, r, f] });
    } else {
      const ids = readLines(files.perImage!.ids);
      // The reference accepts one id per image or one per caption (then every fifth is the image's).
      const perImage = ids.length === images ? ids : captions.length > 0 && ids.length === captions.length ? ids.filter((_, i) => i % 5 === 0) : null;
      if (!perImage)
        throw new UsageError(`${files.perImage!.ids}: ${ids.length} ids, expected ${images} (one per image) or ${captions.length} (one per caption)`);
      features = { ids: perImage, dir: files.perImage!.dir };
    }
    const open = (path: string, shape: number[]): NpyReader | null => (withSegmentation ? NpyReader.open(path, { expectShape: shape }) : null);
    return new PrecompSplit(
      name,
      images,
      captions,
      features,
      open(files.classGrid, [images, c, g, g]),
      open(files.labelMap, [images, m, m]),
      open(files.categories, [images, c]),
      shapes,
    );
  }

  /** The 5N captions; none for an images-only split. */
  captions(): readonly string[] {
    return this.captionLines;
  }

  async loadImages(indices: readonly number[]): Promise<HostImages> {
    const b = indices.length;
    const { regions: r, featureDim: f, numClasses: c, gridSize: g, mapSize: m } = this.shapes;
    for (const i of indices)
      if (!Number.isInteger(i) || i < 0 || i >= this.numImages)
        throw new RangeError(`image index ${i} outside split '${this.name}' (0..${this.numImages - 1})`);
    const [regions, classGrid, labelMap, categories] = await Promise.all([
      this.readFeatures(indices),
      this.classGrid?.readRows(indices),
      this.labelMap?.readRows(indices),
      this.categories?.readRows(indices),
    ]);
    return {
      indices,
      regions: { data: regions, shape: [b, r, f] },
      regionLengths: new Int32Array(b).fill(r),
      segmentation:
        classGrid && labelMap && categories
          ? {
              classGrid: { data: classGrid, shape: [b, c, g, g] },
              labelMap: { data: labelMap, shape: [b, m, m] },
              categories: { data: categories, shape: [b, c] },
            }
          : undefined,
    };
  }

  private async readFeatures(indices: readonly number[]): Promise<Float32Array> {
    if (this.features instanceof NpyReader) return this.features.readRows(indices);
    const { ids, dir } = this.features;
    const { regions: r, featureDim: f } = this.shapes;
    const out = new Float32Array(indices.length * r * f);
    indices.forEach((index, k) => {
      const reader = NpyReader.open(join(dir, `${ids[index]}.npy`), { expectShape: [r, f] });
      try {
        out.set(reader.readAllSync(), k * r * f);
      } finally {
        reader.close();
      }
    });
    return out;
  }

  async close(): Promise<void> {
    for (const reader of [this.features, this.classGrid, this.labelMap, this.categories]) if (reader instanceof NpyReader) reader.close();
  }
}

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { EmbeddingSet } from '../contracts/evaluation';
import type { Logger } from '../contracts/services';
import { UsageError } from '../errors';
import type { PluginManifest } from '../registry/plugin-spec';
import { RunFolder } from '../run-folder';
import { openIndex, type OpenedIndex } from '../search/index-store';
import { encodeImageFile, encodeImageOfSplit, encodeText } from './encode-query';
import { encodeModelSplit, openModelSplit, type EvalTarget, type ModelSplit } from './evaluate-model';

/** Below this many rows a split's index is exact search; at or above, an HNSW graph (docs/use.md). */
export const DEFAULT_EXACT_BELOW = 20_000;

/** Most results one query may ask for. */
export const MAX_K = 100;

/** An image found for a text query. */
export interface ImageHit {
  readonly rank: number;
  readonly image: number;
  readonly score: number;
  /** The image's own five captions (what it shows). */
  readonly captions: readonly string[];
}

/** A caption found for an image query. */
export interface CaptionHit {
  readonly rank: number;
  readonly caption: number;
  /** The image the caption was written for. */
  readonly image: number;
  readonly score: number;
  readonly text: string;
}

export interface TextQueryResult {
  readonly query: string;
  readonly unknownWords: readonly string[];
  readonly hits: readonly ImageHit[];
}

export interface ImageQueryResult {
  /** The image of the split, or the picture file, that was encoded. */
  readonly query: number | string;
  readonly hits: readonly CaptionHit[];
}

export interface RetrievalOptions {
  /** Indexes with fewer rows than this are exact (default {@link DEFAULT_EXACT_BELOW}). */
  readonly exactBelow?: number;
}

/**
 * A trained run answering queries over one split of its data set: text → images, image → captions. The model is
 * loaded once (`openModelSplit`: the run's recipe, vocabulary and best weights); each side's embeddings are encoded
 * once and kept as a search index beside the run (`RunFolder.searchIndex`), reloaded while weights, recipe and split
 * are unchanged — so a second `shnet query` or a restarted `shnet serve` starts without encoding the corpus.
 */
export class RunRetrieval {
  private readonly indexes = new Map<'images' | 'captions', Promise<OpenedIndex>>();
  /** Both sides come from one pass over the split, so building the second index encodes nothing. */
  private embeddings: Promise<EmbeddingSet> | null = null;
  private readonly fingerprintBase: string;

  private constructor(
    readonly opened: ModelSplit,
    private readonly logger: Logger,
    private readonly options: RetrievalOptions,
  ) {
    const { model } = opened;
    const weights = createHash('sha256').update(readFileSync(model.source.checkpoint)).digest('hex');
    this.fingerprintBase = `${model.prepared.hash}:${weights}:${opened.data.name}:${opened.data.numImages}`;
  }

  static async open(
    manifests: readonly PluginManifest[],
    target: EvalTarget,
    split: string | undefined,
    logger: Logger,
    options: RetrievalOptions = {},
  ): Promise<RunRetrieval> {
    const opened = await openModelSplit(manifests, target, split, logger);
    try {
      return new RunRetrieval(opened, logger, options);
    } catch (error) {
      await opened.close();
      throw error;
    }
  }

  get split(): string {
    return this.opened.data.name;
  }

  get numImages(): number {
    return this.opened.data.numImages;
  }

  /** The folder indexes are kept in: the run folder, or the checkpoint's folder for a checkpoint outside one. */
  get folder(): RunFolder {
    const { source } = this.opened.model;
    return new RunFolder(source.runDir ?? join(dirname(source.checkpoint), 'shnet-index'));
  }

  /** The index over one side of the split, opened (loaded or built) on first use. */
  index(side: 'images' | 'captions'): Promise<OpenedIndex> {
    let opened = this.indexes.get(side);
    if (!opened) {
      opened = this.openSide(side);
      this.indexes.set(side, opened);
    }
    return opened;
  }

  /** The `k` images of the split closest to `text`, encoded by the run's text encoder. */
  async textToImages(text: string, k: number): Promise<TextQueryResult> {
    checkK(k, this.numImages);
    const { index } = await this.index('images');
    const encoded = encodeText(this.opened.model, text);
    const captions = this.opened.data.captions();
    const hits = index.search(encoded.vector, k).map((hit, i) => ({
      rank: i + 1,
      image: hit.row,
      score: hit.score,
      captions: captions.slice(5 * hit.row, 5 * hit.row + 5),
    }));
    return { query: text.trim(), unknownWords: encoded.unknownWords, hits };
  }

  /** The `k` captions of the split closest to image `image` of the split, or to a PNG picture file. */
  async imageToCaptions(image: number | string, k: number): Promise<ImageQueryResult> {
    checkK(k, 5 * this.numImages);
    const { index } = await this.index('captions');
    const { model, data } = this.opened;
    const vector = typeof image === 'number' ? await encodeImageOfSplit(model, data, image) : encodeImageFile(model, image);
    const captions = data.captions();
    const hits = index.search(vector, k).map((hit, i) => ({
      rank: i + 1,
      caption: hit.row,
      image: Math.floor(hit.row / 5),
      score: hit.score,
      text: captions[hit.row],
    }));
    return { query: image, hits };
  }

  /** Whether the data set can draw its images ({@link picture}). */
  get hasPictures(): boolean {
    return this.opened.data.renderImage !== undefined;
  }

  /** PNG bytes of image `image` of the split (with its ground-truth segmentation when `overlay`). */
  async picture(image: number, overlay = false): Promise<Uint8Array> {
    const { data } = this.opened;
    if (!data.renderImage) throw new UsageError(`the data set of split '${data.name}' has no pictures (it holds precomputed features only)`);
    if (!Number.isInteger(image) || image < 0 || image >= data.numImages) {
      throw new UsageError(`image ${image} is not in split '${data.name}' (images 0..${data.numImages - 1})`);
    }
    return data.renderImage(image, { overlay });
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.indexes.values());
    await this.opened.close();
  }

  private async openSide(side: 'images' | 'captions'): Promise<OpenedIndex> {
    const { model, data } = this.opened;
    const count = side === 'images' ? data.numImages : 5 * data.numImages;
    const opened = await openIndex(
      this.folder.searchIndex(data.name, side),
      {
        fingerprint: `${this.fingerprintBase}:${side}`,
        count,
        encode: async () => {
          this.logger.info(`encoding '${data.name}' (${data.numImages} images, ${5 * data.numImages} captions) for the search index`);
          // As `shnet eval` and `shnet encode` encode a split, so the index holds the embeddings they give.
          this.embeddings ??= encodeModelSplit(model, data, this.logger);
          const embeddings = await this.embeddings;
          return { vectors: side === 'images' ? embeddings.images : embeddings.captions, dim: embeddings.dim };
        },
      },
      { exactBelow: this.options.exactBelow ?? DEFAULT_EXACT_BELOW },
    );
    const how = opened.origin === 'loaded' ? 'loaded' : `${opened.origin} in ${opened.buildSeconds.toFixed(1)} s`;
    this.logger.info(
      `${side} index of '${data.name}': ${opened.index.kind === 'exact' ? 'exact search' : 'HNSW graph'} over ${count} vectors (${how}, ${opened.files.meta})`,
    );
    return opened;
  }
}

function checkK(k: number, available: number): void {
  const most = Math.min(MAX_K, available);
  if (!Number.isInteger(k) || k < 1 || k > most) throw new UsageError(`k must be an integer from 1 to ${most}, got ${k}`);
}

import type { HostImages } from '../contracts/data';
import type { DatasetSplit } from '../contracts/dataset';
import type { Rng } from '../contracts/services';

/**
 * The caption indices of one epoch in training order: all 5N captions shuffled (Fisher–Yates) with the stream
 * `rng.fork('epoch-' + epoch)`, so epoch e has the same order in a resumed run as in an uninterrupted one.
 */
export function epochOrder(numCaptions: number, rng: Rng, epoch: number): Int32Array {
  const stream = rng.fork(`epoch-${epoch}`);
  const order = new Int32Array(numCaptions);
  for (let i = 0; i < numCaptions; i++) order[i] = i;
  for (let i = numCaptions - 1; i > 0; i--) {
    const j = stream.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/** Consecutive batches of `batchSize` caption indices; the incomplete tail is dropped (`drop_last=True`). */
export function batchesOf(order: Int32Array, batchSize: number): number[][] {
  const batches: number[][] = [];
  for (let start = 0; start + batchSize <= order.length; start += batchSize) batches.push(Array.from(order.subarray(start, start + batchSize)));
  return batches;
}

/** One retrieval training batch on the host: caption i of the batch describes image i (caption j belongs to image ⌊j/5⌋). */
export interface HostBatch {
  readonly captionIndices: readonly number[];
  readonly captions: readonly string[];
  readonly images: HostImages;
}

/**
 * Yields `load(batch)` for each batch, requesting batch k+1 before batch k is handed over, so reading and decoding
 * the next batch overlaps the current step.
 */
export async function* prefetchBatches<B>(batches: readonly (readonly number[])[], load: (indices: readonly number[]) => Promise<B>): AsyncGenerator<B> {
  const request = (k: number): Promise<B> | null => {
    if (k >= batches.length) return null;
    const pending = load(batches[k]);
    pending.catch(() => {}); // a consumer that stops early must not leave an unhandled rejection behind
    return pending;
  };
  let next = request(0);
  for (let k = 0; next !== null; k++) {
    const current = await next;
    next = request(k + 1);
    yield current;
  }
}

/** The host data of a batch of caption indices: the captions and their images (caption j belongs to image ⌊j/5⌋). */
export function captionBatchLoader(split: DatasetSplit): (indices: readonly number[]) => Promise<HostBatch> {
  const captions = split.captions();
  return (indices) =>
    split.loadImages(indices.map((c) => Math.floor(c / 5))).then((images) => ({ captionIndices: indices, captions: indices.map((c) => captions[c]), images }));
}

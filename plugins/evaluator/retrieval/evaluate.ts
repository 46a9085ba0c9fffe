/**
 * Running a protocol over a similarity source in bounded memory: blocks of image rows are produced, counted into
 * ranks and dropped, so memory is one block (`chunkRows × 5N` floats) plus the rank arrays, not `N × 5N`.
 */
import { NpyStreamWriter, type TiePolicy } from 'shnet';
import { averageReports, chanceReport, reportFromRanks } from './metrics';
import { type Fold, type ProtocolReport, type ProtocolSpec, type RetrievalProtocolName, protocolFolds, protocolName } from './protocols';
import { RankAccumulator } from './ranks';
import { checkRanksPath, writeRanksFile } from './ranks-file';
import { type SimilarityKernel, type SimilaritySource, embeddingSimilarity, ensembleSimilarity, matrixSimilarity } from './sources';

export interface EvaluateOptions {
  protocol: RetrievalProtocolName | ProtocolSpec;
  /**
   * Image rows per block (default 512: a block of 51 MB when N = 5,000). Smaller blocks make the backend's matMul
   * less efficient; 512 to 1024 rows measured fastest at N = 5,000 on tensorflow and wasm.
   */
  chunkRows?: number;
  /**
   * Also save the whole `[N, 5N]` float32 matrix to this `.npy` path, streamed block by block (for ensembles).
   * Saving needs every entry, so a multi-fold protocol then computes full rows, not only its diagonal fold blocks.
   */
  saveTo?: string;
  /** How equal scores rank (default optimistic; see `ranks.ts`). */
  ties?: TiePolicy;
  /** Also write every query's rank to this `.npy` or `.json` path (`ranks-file.ts`). */
  saveRanks?: string;
}

const DEFAULT_CHUNK_ROWS = 512;

/** Evaluates `source` under `options.protocol`. Closes nothing: the caller owns the source. */
export async function evaluateRetrieval(source: SimilaritySource, options: EvaluateOptions): Promise<ProtocolReport> {
  const chunk = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isInteger(chunk) || chunk <= 0) throw new Error(`chunkRows must be a positive integer, got ${chunk}`);
  const folds = protocolFolds(options.protocol, source.images);
  const ties = options.ties ?? 'optimistic';
  if (options.saveRanks !== undefined) checkRanksPath(options.saveRanks);
  const ranks = await Promise.all(folds.map(async (fold) => new RankAccumulator(fold.images, await source.groundTruth(...captionsOf(fold)), ties)));
  if (options.saveTo === undefined) {
    await scanFolds(source, folds, ranks, chunk);
  } else {
    await scanFullRows(source, folds, ranks, chunk, options.saveTo);
  }
  const finished = ranks.map((r, f) => ({ fold: folds[f], ...r.finish() }));
  const name = protocolName(options.protocol);
  if (options.saveRanks !== undefined) writeRanksFile(options.saveRanks, name, ties, finished);
  const reports = finished.map(({ i2t, t2i }) => reportFromRanks(i2t, t2i));
  return { protocol: name, ties, metrics: averageReports(reports), folds: reports, chance: chanceReport(folds[0].images) };
}

/**
 * Evaluates embeddings without materialising the similarity matrix.
 *
 * @param images row-major `[N, D]`
 * @param captions row-major `[5N, D]`
 */
export async function evaluateEmbeddings(
  images: Float32Array,
  captions: Float32Array,
  dim: number,
  options: EvaluateOptions & { kernel?: SimilarityKernel },
): Promise<ProtocolReport> {
  const source = embeddingSimilarity(images, captions, dim, options.kernel);
  try {
    return await evaluateRetrieval(source, options);
  } finally {
    source.close();
  }
}

/** Evaluates an in-memory `[N, 5N]` similarity matrix. */
export async function evaluateSimilarity(sims: Float32Array, images: number, options: EvaluateOptions): Promise<ProtocolReport> {
  return evaluateRetrieval(matrixSimilarity(sims, images), options);
}

/** Evaluates the element-wise mean of saved `[N, 5N]` matrices (one path: that matrix alone). */
export async function evaluateSimilarityFiles(paths: readonly string[], options: EvaluateOptions): Promise<ProtocolReport> {
  const source = ensembleSimilarity(paths);
  try {
    return await evaluateRetrieval(source, options);
  } finally {
    source.close();
  }
}

function captionsOf(fold: Fold): [number, number] {
  return [5 * fold.firstImage, 5 * (fold.firstImage + fold.images)];
}

/**
 * Only the diagonal block of each fold: for k folds, 1/k of the full matrix's work. A source that offers
 * approximate blocks hands them over as they are, and the rank counting makes the entries that matter exact.
 */
async function scanFolds(source: SimilaritySource, folds: Fold[], ranks: RankAccumulator[], chunk: number): Promise<void> {
  let block: Float32Array | undefined;
  for (const [f, fold] of folds.entries()) {
    const end = fold.firstImage + fold.images;
    for (let r0 = fold.firstImage; r0 < end; r0 += chunk) {
      const r1 = Math.min(end, r0 + chunk);
      const firstRow = r0 - fold.firstImage;
      if (source.approximateBlock !== undefined) {
        await source.approximateBlock([r0, r1], captionsOf(fold), (values, bound) => ranks[f].addRows(firstRow, r1 - r0, values, { bound }));
      } else {
        block ??= new Float32Array(Math.min(chunk, folds[0].images) * 5 * folds[0].images);
        await source.block([r0, r1], captionsOf(fold), block);
        ranks[f].addRows(firstRow, r1 - r0, block);
      }
    }
  }
}

/** Full rows, each block appended to the `.npy` at `path` and handed to the folds it overlaps. */
async function scanFullRows(source: SimilaritySource, folds: Fold[], ranks: RankAccumulator[], chunk: number, path: string): Promise<void> {
  const n = source.images;
  const columns = 5 * n;
  const block = new Float32Array(Math.min(chunk, n) * columns);
  const writer = NpyStreamWriter.create(path, '<f4', [n, columns]);
  try {
    for (let r0 = 0; r0 < n; r0 += chunk) {
      const r1 = Math.min(n, r0 + chunk);
      await source.block([r0, r1], [0, columns], block);
      writer.append(block.subarray(0, (r1 - r0) * columns));
      for (const [f, fold] of folds.entries()) {
        const lo = Math.max(r0, fold.firstImage);
        const hi = Math.min(r1, fold.firstImage + fold.images);
        if (lo < hi) ranks[f].addRows(lo - fold.firstImage, hi - lo, block.subarray((lo - r0) * columns), { stride: columns, offset: 5 * fold.firstImage });
      }
    }
    writer.finish();
  } catch (err) {
    writer.abort();
    throw err;
  }
}

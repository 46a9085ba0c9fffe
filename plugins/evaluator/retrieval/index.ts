/**
 * Image-sentence retrieval evaluation under the reference protocol (docs/evaluation.md): ranks, R@K / medr / meanr /
 * rSum, the COCO 5-fold 1K, COCO 5K and F30K 1K protocols, ensembles of saved similarity matrices, all on
 * Float32Arrays in bounded memory.
 *
 * ```ts
 * const report = await evaluateEmbeddings(imageEmbs, captionEmbs, 1024, { protocol: 'coco-5fold-1k' });
 * report.metrics['rsum']; // mean over the 5 folds; report.folds holds each fold's metrics
 * ```
 */
export { RETRIEVAL_METRICS, averageReports, chanceReport, recallMetrics, reportFromRanks, retrievalReport } from './metrics';
export type { ChanceMetrics, RecallMetrics, RetrievalMetricName, RetrievalMetrics } from './metrics';
export { RETRIEVAL_PROTOCOLS, protocolFolds, protocolName } from './protocols';
export type { Fold, ProtocolReport, ProtocolSpec, RetrievalProtocolName } from './protocols';
export { RankAccumulator, TIE_POLICIES, groundTruthOf, i2tRanks, imagesOf, retrievalRanks, t2iRanks } from './ranks';
export type { BlockLayout, ScoreBound } from './ranks';
export { writeRanksFile, type FoldRanks } from './ranks-file';
export { MatmulSimilarity, groundTruthScores, matmulSimilarityAvailable, similarityBlock } from './similarity';
export { embeddingSimilarity, ensembleSimilarity, matrixSimilarity, type SimilarityKernel, type SimilaritySource } from './sources';
export { evaluateEmbeddings, evaluateRetrieval, evaluateSimilarity, evaluateSimilarityFiles, type EvaluateOptions } from './evaluate';

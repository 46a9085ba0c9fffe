/**
 * `evaluator`: retrieval metrics from embeddings under a protocol (docs/evaluation.md). Embeddings are host arrays:
 * evaluation works in bounded memory on chunks, never on the full N×5N matrix unless asked to save it.
 */

/** Image embeddings `[N, D]` and caption embeddings `[5N, D]`, row-major; caption j belongs to image ⌊j/5⌋. */
export interface EmbeddingSet {
  readonly images: Float32Array;
  readonly captions: Float32Array;
  readonly numImages: number;
  readonly dim: number;
}

/** Metric name → value (`i2t/R1`, `t2i/R10`, `rsum`, …), and per-fold reports for fold protocols. */
export interface EvaluationReport {
  readonly protocol: string;
  /** How equal scores were ranked, when the evaluator ranks (docs/evaluation.md). */
  readonly ties?: TiePolicy;
  readonly metrics: Readonly<Record<string, number>>;
  readonly folds?: ReadonlyArray<Readonly<Record<string, number>>>;
  /** The same metrics for random rankings on one block of the protocol (`rsum` included): the scale to read them on. */
  readonly chance?: Readonly<Record<string, number>>;
}

/** Equal scores rank in the query's favour (`optimistic`: strictly greater scores count) or against it. */
export type TiePolicy = 'optimistic' | 'pessimistic';

/** Per-call evaluation options. */
export interface EvaluateOptions {
  /** When given, the N×5N similarity matrix is also written there as `.npy`. */
  readonly saveSimilarity?: string;
  /**
   * Overrides the evaluator's protocol for this call. `'all'` (every image as one block) is understood by every
   * evaluator: per-epoch validation on the first images of the dev split uses it, as the reference does.
   */
  readonly protocol?: string;
  /** Overrides the evaluator's tie policy for this call. */
  readonly ties?: TiePolicy;
  /** When given, every query's rank is also written there (`.npy` or `.json`; docs/evaluation.md). */
  readonly saveRanks?: string;
}

export interface Evaluator {
  /** The protocol name this evaluator applies (`coco-5fold-1k`, `coco-5k`, `f30k-1k`, `all`). */
  readonly protocol: string;
  evaluate(embeddings: EmbeddingSet, options?: EvaluateOptions): Promise<EvaluationReport>;
  /**
   * Checks, before anything is encoded, that a call with `options` on a split of `numImages` images can be made (a
   * protocol that exists and fits the split's size); throws a `UsageError` naming the problem. Commands call it
   * first so that a mistyped `--protocol` costs nothing.
   */
  checkOptions?(options: EvaluateOptions, numImages: number): void;
  /**
   * Evaluates saved `[N, 5N]` similarity matrices (`.npy`), their element-wise mean when several: the ensemble
   * ("hybrid") level (docs/evaluation.md), and re-evaluation of a saved matrix under another protocol. `saveSimilarity` writes
   * the (averaged) matrix.
   */
  evaluateSimilarity?(paths: readonly string[], options?: EvaluateOptions): Promise<EvaluationReport>;
}

import {
  definePlugin,
  type EmbeddingSet,
  type EvaluateOptions,
  type EvaluationReport,
  type Evaluator,
  inject,
  injectable,
  PLUGIN_ARGS,
  type Static,
  type TiePolicy,
  Type,
  UsageError,
  type NodeCheck,
  type CheckProblem,
} from 'shnet';

import { evaluateRetrieval } from './evaluate';
import { RETRIEVAL_PROTOCOLS, type ProtocolSpec, protocolFolds, type RetrievalProtocolName } from './protocols';
import { TIE_POLICIES } from './ranks';
import { type SimilaritySource, embeddingSimilarity, ensembleSimilarity } from './sources';

export const retrievalOptions = Type.Object(
  {
    protocol: Type.Union([Type.Literal('all'), ...Object.keys(RETRIEVAL_PROTOCOLS).map((name) => Type.Literal(name))], {
      default: 'all',
      description: "'all': every image as one block; coco-5fold-1k: five 1K folds averaged; coco-5k; f30k-1k",
    }),
    alsoReport: Type.Array(Type.Union(Object.keys(RETRIEVAL_PROTOCOLS).map((name) => Type.Literal(name))), {
      default: [],
      description: "further protocols reported beside the main one, their metrics prefixed by the protocol ('coco-5k/i2t/R1')",
    }),
    chunkRows: Type.Integer({ minimum: 1, default: 512, description: 'image rows of the similarity matrix held at once' }),
    ties: Type.Union(
      TIE_POLICIES.map((policy) => Type.Literal(policy)),
      {
        default: 'optimistic',
        description: "equal scores: 'optimistic' counts only strictly greater scores against a query, 'pessimistic' counts ties too",
      },
    ),
  },
  { additionalProperties: false },
);

/**
 * Image–sentence retrieval metrics of the reference protocol (docs/evaluation.md): i2t best rank over an image's five
 * captions, t2i one query per caption, R@1/5/10, medr, meanr, rSum; fold protocols average each metric.
 */
@injectable()
export class RetrievalEvaluator implements Evaluator {
  readonly protocol: string;
  constructor(@inject(PLUGIN_ARGS) private readonly args: Static<typeof retrievalOptions>) {
    this.protocol = args.protocol;
  }

  async evaluate(embeddings: EmbeddingSet, options: EvaluateOptions = {}): Promise<EvaluationReport> {
    const source = embeddingSimilarity(embeddings.images, embeddings.captions, embeddings.dim);
    try {
      return await this.report(source, options);
    } finally {
      source.close(); // the matMul kernel holds the captions on the backend
    }
  }

  /** The element-wise mean of saved `[N, 5N]` `.npy` matrices (one path: that matrix), under the protocol. */
  async evaluateSimilarity(paths: readonly string[], options: EvaluateOptions = {}): Promise<EvaluationReport> {
    const source = ensembleSimilarity(paths);
    try {
      return await this.report(source, options);
    } finally {
      source.close();
    }
  }

  /** Every protocol this call would run exists and fits `numImages` (protocols.ts says why not). */
  checkOptions(options: EvaluateOptions, numImages: number): void {
    for (const name of [options.protocol ?? this.args.protocol, ...(options.protocol === undefined ? this.args.alsoReport : [])]) {
      protocolFolds(this.protocolOf(name), numImages);
    }
  }

  private async report(source: SimilaritySource, options: EvaluateOptions): Promise<EvaluationReport> {
    const main = options.protocol ?? this.args.protocol;
    const ties = options.ties ?? this.args.ties;
    if (!TIE_POLICIES.includes(ties)) throw new UsageError(`unknown tie policy '${String(ties)}' (known: ${TIE_POLICIES.join(', ')})`);
    const report = await this.run(source, main, ties, { saveTo: options.saveSimilarity, saveRanks: options.saveRanks });
    const metrics: Record<string, number> = { ...report.metrics };
    // Extra protocols only with the configured main one: a validation call ('all') wants just its block.
    for (const extra of options.protocol === undefined ? this.args.alsoReport : []) {
      const other = await this.run(source, extra, ties);
      for (const [key, value] of Object.entries(other.metrics)) metrics[`${extra}/${key}`] = value;
    }
    return { protocol: main, ties, metrics, folds: report.folds.length > 1 ? report.folds : undefined, chance: report.chance };
  }

  private protocolOf(name: string): RetrievalProtocolName | ProtocolSpec {
    if (name !== 'all' && !(name in RETRIEVAL_PROTOCOLS)) {
      throw new UsageError(`unknown retrieval protocol '${name}' (known: all, ${Object.keys(RETRIEVAL_PROTOCOLS).join(', ')})`);
    }
    return name === 'all' ? { folds: 1 } : (name as RetrievalProtocolName);
  }

  private run(source: SimilaritySource, name: string, ties: TiePolicy, save: { saveTo?: string; saveRanks?: string } = {}) {
    return evaluateRetrieval(source, { protocol: this.protocolOf(name), chunkRows: this.args.chunkRows, ties, ...save });
  }
}

/**
 * Before anything is built: every protocol the final evaluation reports must be able to split the evaluated split
 * (coco-5fold-1k is defined for exactly 5,000 images); without this, a mismatch is found after training.
 */
const checkRetrievalEvaluator: NodeCheck = ({ node, path, recipe, data }) => {
  const split = (recipe.evaluate as { split?: string } | undefined)?.split;
  const images = split !== undefined ? data?.splits[split]?.images : undefined;
  if (images === undefined) return [];
  const protocols = [node.args.protocol, ...((node.args.alsoReport as string[] | undefined) ?? [])].filter(
    (p): p is RetrievalProtocolName => typeof p === 'string' && p in RETRIEVAL_PROTOCOLS,
  );
  const problems: CheckProblem[] = [];
  for (const name of new Set(protocols)) {
    const spec: ProtocolSpec = RETRIEVAL_PROTOCOLS[name];
    if ((spec.images !== undefined && spec.images !== images) || images % spec.folds !== 0) {
      const where = node.args.protocol === name ? `${path}.args.protocol` : `${path}.args.alsoReport`;
      problems.push({
        path: where,
        message: `${name} is defined for ${spec.images ?? `a multiple of ${spec.folds}`} images, and split '${split}' (evaluate.split) has ${images}`,
      });
    }
  }
  return problems;
};

export const retrievalEvaluator = definePlugin({
  kind: 'evaluator',
  name: 'retrieval',
  doc: 'R@1/5/10 both ways, medr, meanr, rSum under the reference protocols (COCO 5-fold 1K, 5K, F30K 1K)',
  version: '1.0.0',
  options: retrievalOptions,
  plugin: RetrievalEvaluator,
  check: checkRetrievalEvaluator,
});

import { Type, type Static } from '@sinclair/typebox';
import { inject, injectable } from 'inversify';
import type { EmbeddingSet, EvaluationReport, Evaluator } from '../../../core/contracts/evaluation';
import { definePlugin } from '../../../core/registry/plugin-spec';
import { PLUGIN_ARGS } from '../../../core/tokens';
import { evaluateEmbeddings } from './evaluate';
import { RETRIEVAL_PROTOCOLS, type ProtocolSpec, type RetrievalProtocolName } from './protocols';

export const retrievalOptions = Type.Object(
  {
    protocol: Type.Union(
      [Type.Literal('all'), ...Object.keys(RETRIEVAL_PROTOCOLS).map((name) => Type.Literal(name))],
      { default: 'all', description: "'all': every image as one block; coco-5fold-1k: five 1K folds averaged; coco-5k; f30k-1k" },
    ),
    chunkRows: Type.Integer({ minimum: 1, default: 256, description: 'image rows of the similarity matrix held at once' }),
  },
  { additionalProperties: false },
);

/**
 * Image–sentence retrieval metrics of the reference protocol (spec §5): i2t best rank over an image's five
 * captions, t2i one query per caption, R@1/5/10, medr, meanr, rSum; fold protocols average each metric.
 */
@injectable()
export class RetrievalEvaluator implements Evaluator {
  readonly protocol: string;
  constructor(@inject(PLUGIN_ARGS) private readonly args: Static<typeof retrievalOptions>) {
    this.protocol = args.protocol;
  }

  async evaluate(embeddings: EmbeddingSet, options: { saveSimilarity?: string } = {}): Promise<EvaluationReport> {
    const protocol: RetrievalProtocolName | ProtocolSpec = this.args.protocol === 'all' ? { folds: 1 } : (this.args.protocol as RetrievalProtocolName);
    const report = await evaluateEmbeddings(embeddings.images, embeddings.captions, embeddings.dim, {
      protocol,
      chunkRows: this.args.chunkRows,
      saveTo: options.saveSimilarity,
    });
    return { protocol: this.args.protocol, metrics: report.metrics, folds: report.folds.length > 1 ? report.folds : undefined };
  }
}

export const retrievalEvaluator = definePlugin({
  kind: 'evaluator',
  name: 'retrieval',
  doc: 'R@1/5/10 both ways, medr, meanr, rSum under the reference protocols (COCO 5-fold 1K, 5K, F30K 1K)',
  version: '1.0.0',
  options: retrievalOptions,
  plugin: RetrievalEvaluator,
});

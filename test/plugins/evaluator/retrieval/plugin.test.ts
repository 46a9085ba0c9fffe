import { strict as assert } from 'node:assert';
import { RetrievalEvaluator } from '../../../../plugins/evaluator/retrieval/plugin';
import { evaluateEmbeddings } from '../../../../plugins/evaluator/retrieval/evaluate';
import { chanceReport } from '../../../../plugins/evaluator/retrieval/metrics';

/** Seeded embeddings where caption j is a noisy copy of image ⌊j/5⌋, so ranks are neither all 0 nor random. */
function embeddings(n: number, dim: number): { images: Float32Array; captions: Float32Array } {
  let state = 7;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  const images = Float32Array.from({ length: n * dim }, next);
  const captions = Float32Array.from({ length: 5 * n * dim }, (_, k) => images[Math.floor(k / dim / 5) * dim + (k % dim)] + 1.5 * next());
  return { images, captions };
}

describe('retrieval evaluator plugin', () => {
  const { images, captions } = embeddings(50, 8);
  const set = { images, captions, numImages: 50, dim: 8 };

  it("reports the main protocol and, prefixed, the 'alsoReport' ones", async () => {
    const evaluator = new RetrievalEvaluator({ protocol: 'all', alsoReport: ['coco-5k'], chunkRows: 16, ties: 'optimistic' });
    const report = await evaluator.evaluate(set);
    const direct = await evaluateEmbeddings(images, captions, 8, { protocol: { folds: 1 } });
    assert.equal(report.metrics.rsum, direct.metrics.rsum);
    assert.equal(report.metrics['coco-5k/rsum'], direct.metrics.rsum, 'one block either way');
    assert.ok(report.metrics.rsum > 0 && report.metrics.rsum < 600);
    assert.deepEqual(report.chance, chanceReport(50), 'the chance level of the 50-image block');
    assert.equal(report.ties, 'optimistic');
  });

  it('lets a call override the protocol (validation uses all), without the extra protocols', async () => {
    const evaluator = new RetrievalEvaluator({ protocol: 'coco-5fold-1k', alsoReport: ['coco-5k'], chunkRows: 16, ties: 'optimistic' });
    await assert.rejects(evaluator.evaluate(set), /coco-5fold-1k is defined for 5000 images/);
    const report = await evaluator.evaluate(set, { protocol: 'all' });
    assert.equal(report.protocol, 'all');
    assert.equal(report.metrics['coco-5k/rsum'], undefined);
    await assert.rejects(evaluator.evaluate(set, { protocol: 'coco-1k' }), /unknown retrieval protocol 'coco-1k'/);
  });
});

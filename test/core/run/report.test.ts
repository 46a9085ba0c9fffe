import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { statesSpatialRelation } from '../../../core/run/report/caption-types';
import { medianRank, recallAt, retrievalRanks } from '../../../core/run/report/ranks';
import { reportData } from '../../../core/run/report/report-data';
import { reportHtml } from '../../../core/run/report/report-html';
import { createRng } from '../../../core/services/rng';

/** Unit embeddings: captions are noisy copies of their image's vector. */
function embeddingSet(n: number, dim: number, noise: number) {
  const rng = createRng(4);
  const unit = (v: Float32Array) => {
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };
  const images = new Float32Array(n * dim);
  const captions = new Float32Array(5 * n * dim);
  for (let i = 0; i < n; i++) {
    const base = unit(Float32Array.from({ length: dim }, () => rng.next() - 0.5));
    images.set(base, i * dim);
    for (let c = 0; c < 5; c++) captions.set(unit(base.map((x) => x + noise * (rng.next() - 0.5))), (5 * i + c) * dim);
  }
  return { images, captions, numImages: n, dim };
}

describe('the retrieval report (core/run/report)', () => {
  const n = 40;
  const dim = 8;
  const set = embeddingSet(n, dim, 3);
  const dot = (a: Float32Array, i: number, b: Float32Array, j: number) => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += a[i * dim + d] * b[j * dim + d];
    return s;
  };

  it('ranks every caption and image against the whole split as brute force does, without leaking tensors', () => {
    const before = tf.memory().numTensors;
    const ranks = retrievalRanks(set);
    assert.equal(tf.memory().numTensors, before);
    for (let j = 0; j < 5 * n; j++) {
      const scores = Array.from({ length: n }, (_, i) => dot(set.captions, j, set.images, i));
      const own = scores[Math.floor(j / 5)];
      assert.equal(ranks.captionRanks[j], scores.filter((s) => s > own).length, `caption ${j}`);
      const order = scores
        .map((s, i) => ({ s, i }))
        .sort((a, b) => b.s - a.s || a.i - b.i)
        .slice(0, 5)
        .map((x) => x.i);
      assert.deepEqual(Array.from(ranks.captionTop.subarray(5 * j, 5 * j + 5)), order);
    }
    for (let i = 0; i < n; i++) {
      const scores = Array.from({ length: 5 * n }, (_, j) => dot(set.images, i, set.captions, j));
      const best = Math.max(...scores.slice(5 * i, 5 * i + 5));
      assert.equal(ranks.imageRanks[i], scores.filter((s) => s > best).length, `image ${i}`);
    }
    assert.ok(recallAt(ranks.captionRanks, 1) > 0 && recallAt(ranks.captionRanks, 10) < 100, 'a split with hits and misses');
  });

  it('computes recall by caption group, samples reproducibly, and lists the worst failures worst first', () => {
    const ranks = retrievalRanks(set);
    const captions = Array.from({ length: 5 * n }, (_, j) => (j % 2 ? `a red circle left of a square ${j}` : `a red circle and a square ${j}`));
    const parity = { name: 'parity', labels: captions.map((_, j) => (j % 2 ? 'odd' : 'even')) };
    const data = reportData('test', ranks, captions, [parity], { samples: 4, failures: 3, seed: 1 });
    assert.deepEqual(
      data.facets.map((f) => f.name),
      ['states a spatial relation', 'parity'],
    );
    const [spatial] = data.facets;
    assert.deepEqual(
      spatial.groups.map((g) => [g.label, g.captions]),
      [
        ['no', 100],
        ['yes', 100],
      ],
    );
    const odd = Int32Array.from({ length: 100 }, (_, k) => ranks.captionRanks[2 * k + 1]);
    assert.equal(spatial.groups[1].r5, recallAt(odd, 5));
    assert.equal(spatial.groups[1].medr, medianRank(odd));
    assert.equal(data.metrics['t2i/R1'], recallAt(ranks.captionRanks, 1));
    assert.deepEqual(reportData('test', ranks, captions, [], { samples: 4, failures: 3, seed: 1 }).sampledCaptions, data.sampledCaptions);
    assert.equal(data.sampledImages.length, 4);
    const worst = data.worstCaptions.map((c) => c.rank);
    assert.deepEqual(
      worst,
      [...worst].sort((a, b) => b - a),
    );
    assert.equal(worst[0], Math.max(...ranks.captionRanks) + 1);
  });

  it('writes one self-contained page that escapes captions', () => {
    const ranks = retrievalRanks(set);
    const captions = Array.from({ length: 5 * n }, (_, j) => `<b>caption</b> "${j}" & more`);
    const data = reportData('test', ranks, captions, [], { samples: 3, failures: 2, seed: 0 });
    const html = reportHtml(data, { title: 'run <x>', runDir: 'runs/x', checkpoint: 'best.safetensors', epoch: 3, created: new Date(0) }, (i) =>
      i === 0 ? 'data:image/png;base64,AAAA' : null,
    );
    assert.ok(!html.includes('<b>caption</b>'));
    assert.ok(html.includes('&#60;b&#62;caption&#60;/b&#62; &#34;'));
    assert.ok(html.includes('<title>run &#60;x&#62;: retrieval report</title>'));
    assert.ok(!/<script|https?:/.test(html));
    assert.ok(html.includes('<div class="noimg">#'), 'images without a picture keep their place');
  });

  it('recognises captions that state a spatial relation', () => {
    for (const yes of ['a dog to the left of a cat', 'a cup on top of a table', 'A man NEXT TO a car', 'bird above water'])
      assert.ok(statesSpatialRelation(yes), yes);
    for (const no of ['a red circle and a blue square', 'bright lights', 'a leftover sandwich']) assert.ok(!statesSpatialRelation(no), no);
  });
});

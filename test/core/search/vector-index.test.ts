import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnnIndex } from '../../../core/search/ann-index';
import { ExactIndex } from '../../../core/search/exact-index';
import { indexFiles, openIndex, type IndexSource } from '../../../core/search/index-store';
import { createRng } from '../../../core/services/rng';

/** `n` unit vectors of width `dim` around `clusters` centres (retrieval embeddings are clustered, not uniform). */
function clusteredUnitVectors(n: number, dim: number, clusters: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: dim }, gauss));
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const centre = centres[rng.int(clusters)];
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      out[i * dim + d] = centre[d] + 0.6 * gauss();
      norm += out[i * dim + d] ** 2;
    }
    for (let d = 0; d < dim; d++) out[i * dim + d] /= Math.sqrt(norm);
  }
  return out;
}

/** Brute force: every row's score, sorted. */
function bruteForce(vectors: Float32Array, dim: number, query: Float32Array, k: number): number[] {
  const scores = Array.from({ length: vectors.length / dim }, (_, r) => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += vectors[r * dim + d] * query[d];
    return { r, s };
  });
  return scores
    .sort((a, b) => b.s - a.s || a.r - b.r)
    .slice(0, k)
    .map((x) => x.r);
}

describe('vector indexes (core/search)', () => {
  const dim = 32;
  const vectors = clusteredUnitVectors(3000, dim, 40, 1);
  const queries = clusteredUnitVectors(100, dim, 40, 2);
  const query = (q: number) => queries.subarray(q * dim, (q + 1) * dim);

  it('exact search returns the k best rows by inner product, best first, with their scores', () => {
    const index = new ExactIndex(vectors, dim);
    assert.equal(index.size, 3000);
    for (let q = 0; q < 20; q++) {
      const hits = index.search(query(q), 10);
      assert.deepEqual(
        hits.map((h) => h.row),
        bruteForce(vectors, dim, query(q), 10),
      );
      for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score);
    }
    assert.equal(new ExactIndex(vectors.subarray(0, 3 * dim), dim).search(query(0), 10).length, 3, 'fewer rows than k');
    assert.throws(() => index.search(new Float32Array(dim + 1), 5), /33 values, the index holds 32-d/);
    assert.throws(() => index.search(query(0), 0), /positive integer/);
  });

  it('the HNSW index finds nearly every true neighbour, with the exact scores of what it finds', () => {
    const ann = AnnIndex.build(vectors, dim);
    const exact = new ExactIndex(vectors, dim);
    let found = 0;
    for (let q = 0; q < 100; q++) {
      const truth = new Set(exact.search(query(q), 10).map((h) => h.row));
      const hits = ann.search(query(q), 10);
      assert.equal(hits.length, 10);
      for (const hit of hits) {
        if (truth.has(hit.row)) found++;
        let s = 0;
        for (let d = 0; d < dim; d++) s += vectors[hit.row * dim + d] * query(q)[d];
        assert.ok(Math.abs(hit.score - s) < 1e-5, `score ${hit.score} vs ${s}`);
      }
    }
    assert.ok(found / 1000 >= 0.95, `recall@10 ${found / 1000}`);
  });

  it('a saved HNSW index loads with the same answers; k above the size returns every row', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-ann-'));
    try {
      const ann = AnnIndex.build(vectors, dim);
      ann.save(join(dir, 'x.usearch'));
      const loaded = AnnIndex.load(join(dir, 'x.usearch'), dim);
      assert.equal(loaded.size, 3000);
      for (let q = 0; q < 10; q++) assert.deepEqual(loaded.search(query(q), 10), ann.search(query(q), 10));
      assert.throws(() => AnnIndex.load(join(dir, 'x.usearch'), 16), /32-d vectors, expected 16/);
      const small = AnnIndex.build(vectors.subarray(0, 4 * dim), dim);
      assert.deepEqual(
        small
          .search(query(0), 10)
          .map((h) => h.row)
          .sort(),
        [0, 1, 2, 3],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('the index store', () => {
    let dir: string;
    let encodes: number;
    const source = (fingerprint: string, rows = 500): IndexSource => ({
      fingerprint,
      count: rows,
      encode: async () => {
        encodes++;
        return { vectors: vectors.slice(0, rows * dim), dim };
      },
    });
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'shnet-index-store-'));
      encodes = 0;
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('builds once, then reloads while the fingerprint holds', async () => {
      const base = join(dir, 'index', 'test-images');
      const first = await openIndex(base, source('a'), { exactBelow: 100 });
      assert.equal(first.origin, 'built');
      assert.equal(first.index.kind, 'ann');
      assert.ok(existsSync(indexFiles(base).graph));
      const again = await openIndex(base, source('a'), { exactBelow: 100 });
      assert.equal(again.origin, 'loaded');
      assert.equal(encodes, 1);
      assert.deepEqual(again.index.search(query(3), 5), first.index.search(query(3), 5));
    });

    it('switches exact ↔ approximate from the stored vectors, and re-encodes only for another fingerprint or a torn file', async () => {
      const base = join(dir, 'test-images');
      const exact = await openIndex(base, source('a'), { exactBelow: 1000 });
      assert.equal(exact.index.kind, 'exact');
      const ann = await openIndex(base, source('a'), { exactBelow: 10 });
      assert.deepEqual([ann.index.kind, ann.origin, encodes], ['ann', 'rebuilt', 1]);
      const other = await openIndex(base, source('b'), { exactBelow: 10 });
      assert.deepEqual([other.origin, encodes], ['built', 2]);
      writeFileSync(indexFiles(base).meta, '{"fingerp');
      assert.equal((await openIndex(base, source('b'), { exactBelow: 10 })).origin, 'built');
      assert.equal(encodes, 3);
    });
  });
});

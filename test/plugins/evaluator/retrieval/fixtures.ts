/** Deterministic test data for the retrieval tests. */

/** mulberry32: a tiny seeded PRNG, so every run sees the same "random" embeddings. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` floats uniform in [-1, 1). */
export function randomFloats(count: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  return Float32Array.from({ length: count }, () => 2 * next() - 1);
}

/**
 * Embeddings where caption j is a noisy copy of image floor(j/5), so ranks spread over 0 .. a few dozen
 * instead of being all 0 or all random. Returns row-major images `[n, dim]` and captions `[5n, dim]`.
 */
export function correlatedEmbeddings(n: number, dim: number, noise: number, seed: number): { images: Float32Array; captions: Float32Array } {
  const images = randomFloats(n * dim, seed);
  const jitter = randomFloats(5 * n * dim, seed + 1);
  const captions = Float32Array.from({ length: 5 * n * dim }, (_, k) => {
    const j = Math.floor(k / dim);
    return images[Math.floor(j / 5) * dim + (k % dim)] + noise * jitter[k];
  });
  return { images, captions };
}

/** The reference's i2t / t2i code (docs/evaluation.md), written from the protocol description, over a float32 `.npy` matrix. */
export const NUMPY_REFERENCE = String.raw`
import json, sys, numpy as np

def i2t(sims):
    npts = sims.shape[0]
    ranks = np.zeros(npts)
    for index in range(npts):
        inds = np.argsort(sims[index])[::-1]
        rank = 1e20
        for i in range(5 * index, 5 * index + 5):
            tmp = np.where(inds == i)[0][0]
            if tmp < rank:
                rank = tmp
        ranks[index] = rank
    return ranks

def t2i(sims):
    npts = sims.shape[0]
    ranks = np.zeros(5 * npts)
    sims = sims.T
    for index in range(npts):
        for i in range(5):
            inds = np.argsort(sims[5 * index + i])[::-1]
            ranks[5 * index + i] = np.where(inds == index)[0][0]
    return ranks

def metrics(ranks):
    r1 = 100.0 * len(np.where(ranks < 1)[0]) / len(ranks)
    r5 = 100.0 * len(np.where(ranks < 5)[0]) / len(ranks)
    r10 = 100.0 * len(np.where(ranks < 10)[0]) / len(ranks)
    return [r1, r5, r10, float(np.floor(np.median(ranks)) + 1), float(ranks.mean() + 1)]

def report(sims):
    ri, rt = i2t(sims), t2i(sims)
    a, b = metrics(ri), metrics(rt)
    return {'i2t': ri.astype(int).tolist(), 't2i': rt.astype(int).tolist(), 'metrics': a + b + [a[0] + a[1] + a[2] + b[0] + b[1] + b[2]]}

paths, folds = sys.argv[1].split(','), int(sys.argv[2])
sims = np.load(paths[0])
for p in paths[1:]:
    sims = sims + np.load(p)
if len(paths) > 1:
    sims = sims / len(paths)
assert sims.dtype == np.float32
n = sims.shape[0] // folds
per_fold = [report(sims[f * n:(f + 1) * n, f * 5 * n:(f + 1) * 5 * n]) for f in range(folds)]
mean = np.array([r['metrics'] for r in per_fold]).mean(axis=0).tolist()
print(json.dumps({'folds': per_fold, 'mean': mean}))
`;

/**
 * Section 8 of `npm run bench`, searching a trained run (docs/use.md): the HNSW index of `shnet query` and
 * `shnet serve` against exact search, on a real model's embeddings of N = 5,000 shapes images and 5N = 25,000
 * captions (the COCO 5K test size):
 *
 * - recall@10 of the HNSW index against exact search, both ways (captions searching the 5K images, images searching
 *   the 25K captions), on a sample of queries; target ≥ 0.99;
 * - search time a query, HNSW against exact (the ratio is the speed-up);
 * - index build time, against the time the model took to encode the same corpus (the other one-off cost);
 * - query latency over HTTP (encode + search + transport) of a real `shnet serve`, p50 and p99, under a bounded
 *   load of concurrent loopback clients, the HNSW server against the same load on an exact-search server.
 *
 * The model: SHNET_BENCH_RUN (a run folder of recipes/shapes/3shnet.yaml, e.g. the demo run), its test split
 * regenerated at N images; without it, the demo recipe's model with its initial weights (a zero-epoch run made
 * here), whose embeddings are those of an untrained model.
 *
 * Run alone: node dist/bench/retrieval-index.js. Environment: SHNET_BENCH_RUN, SHNET_BENCH_ANN_IMAGES (N, default
 * 5000), SHNET_BENCH_ANN_QUERIES (recall and timing sample, default 2000), SHNET_BENCH_ANN_CLIENTS (default 8),
 * SHNET_BENCH_ANN_REQUESTS (per client, default 40).
 */
import 'reflect-metadata';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddingSet } from '../core/contracts/evaluation';
import { builtinManifest } from '../core/registry/builtin';
import { encodeModelSplit, withModelSplit } from '../core/run/evaluate-model';
import { AnnIndex } from '../core/search/ann-index';
import { ExactIndex } from '../core/search/exact-index';
import type { VectorIndex } from '../core/search/vector-index';
import { StderrLogger } from '../core/services/logger';
import { createRng } from '../core/services/rng';
import { envNumber, fmt, runSection, type Row, type SectionResult } from './report';

const SECTION = '8 search index';
const CLI = join(__dirname, '..', 'core', 'cli', 'main.js');
const DEMO = join(__dirname, '..', '..', 'recipes', 'shapes', '3shnet.yaml');
const K = 10;

export async function retrievalIndex(): Promise<SectionResult> {
  const n = envNumber('SHNET_BENCH_ANN_IMAGES', 5000);
  const sample = envNumber('SHNET_BENCH_ANN_QUERIES', 2000);
  const clients = envNumber('SHNET_BENCH_ANN_CLIENTS', 8);
  const requests = envNumber('SHNET_BENCH_ANN_REQUESTS', 40);
  const scratch = mkdtempSync(join(tmpdir(), 'shnet-bench-index-'));
  try {
    const given = process.env.SHNET_BENCH_RUN;
    const runDir = given ?? untrainedRun(scratch, n);
    const overrides = [`data.args.testSize=${n}`];
    const model = given ? 'trained run' : 'untrained demo model';
    const logger = new StderrLogger('warn');
    const started = performance.now();
    const { embeddings, captions } = await withModelSplit([builtinManifest()], { target: runDir, overrides }, 'test', logger, async (loaded, data) => ({
      embeddings: await encodeModelSplit(loaded, data, logger),
      captions: data.captions(),
    }));
    const encodeSeconds = (performance.now() - started) / 1000;

    const rows: Row[] = [];
    const rng = createRng(8);
    const side = (name: string, corpus: Float32Array, queries: Float32Array, queryCount: number) =>
      measureSide(name, corpus, embeddings.dim, queries, pick(rng, queryCount, sample), encodeSeconds);
    rows.push(...side(`${n} images (${model}), caption queries`, embeddings.images, embeddings.captions, 5 * n));
    rows.push(...side(`${5 * n} captions (${model}), image queries`, embeddings.captions, embeddings.images, n));
    rows.push(...(await measureServing(runDir, overrides, captions, clients, requests, scratch, embeddings)));
    return { rows };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A run folder of the demo recipe with its initial weights: zero epochs, no tracker, N test images. */
function untrainedRun(scratch: string, n: number): string {
  const output = join(scratch, 'runs');
  const sets = ['train.epochs=0', 'tracker=null', `data.args.testSize=${n}`, `output=${output}`].flatMap((s) => ['--set', s]);
  execFileSync(process.execPath, [CLI, 'run', DEMO, ...sets, '--quiet'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return join(output, readdirSync(output)[0]);
}

/** `count` distinct row numbers of [0, of). */
function pick(rng: ReturnType<typeof createRng>, of: number, count: number): number[] {
  const rows = Array.from({ length: of }, (_, i) => i);
  for (let i = 0; i < Math.min(count, of); i++) {
    const j = i + rng.int(of - i);
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows.slice(0, Math.min(count, of));
}

/** Recall@10, search time and build time of the HNSW index over `corpus`, against exact search. */
function measureSide(name: string, corpus: Float32Array, dim: number, queries: Float32Array, sample: number[], encodeSeconds: number): Row[] {
  const t0 = performance.now();
  const ann = AnnIndex.build(corpus, dim);
  const buildSeconds = (performance.now() - t0) / 1000;
  const exact = new ExactIndex(corpus, dim);
  const query = (q: number) => queries.subarray(q * dim, (q + 1) * dim);
  const timed = (index: VectorIndex) => {
    const start = performance.now();
    const results = sample.map((q) => index.search(query(q), K).map((h) => h.row));
    return { results, microseconds: ((performance.now() - start) * 1000) / sample.length };
  };
  const truth = timed(exact);
  const approx = timed(ann);
  let found = 0;
  approx.results.forEach((rows, i) => {
    const expected = new Set(truth.results[i]);
    found += rows.filter((r) => expected.has(r)).length;
  });
  const recall = found / (K * sample.length);
  return [
    {
      section: SECTION,
      measure: `HNSW recall@${K} vs exact, ${name}`,
      value: recall.toFixed(4),
      against: `exact search, ${sample.length} queries`,
      ratio: recall,
      target: '≥ 0.99',
      met: recall >= 0.99,
    },
    {
      section: SECTION,
      measure: `search a query, ${name}`,
      value: `HNSW ${fmt(approx.microseconds, 0)} µs`,
      against: `exact ${fmt(truth.microseconds, 0)} µs`,
      ratio: truth.microseconds / approx.microseconds,
    },
    {
      section: SECTION,
      measure: `HNSW build, ${name}`,
      value: `${fmt(buildSeconds, 2)} s`,
      against: `encoding the split ${fmt(encodeSeconds)} s`,
      ratio: encodeSeconds / buildSeconds,
    },
  ];
}

/**
 * p50/p99 latency of `GET /query` on a real `shnet serve`, `clients` concurrent loopback clients sending `requests`
 * caption queries each, on an HNSW server and then on an exact-search one.
 */
async function measureServing(
  runDir: string,
  overrides: readonly string[],
  captions: readonly string[],
  clients: number,
  requests: number,
  scratch: string,
  embeddings: EmbeddingSet,
): Promise<Row[]> {
  const latencies: Record<'ann' | 'exact', number[]> = { ann: [], exact: [] };
  const seconds: Record<'ann' | 'exact', number> = { ann: 0, exact: 0 };
  for (const kind of ['ann', 'exact'] as const) {
    const exactBelow = kind === 'ann' ? '0' : String(10 * embeddings.numImages);
    const sets = overrides.flatMap((s) => ['--set', s]);
    const server = spawn(process.execPath, [CLI, 'serve', runDir, ...sets, '--port', '0', '--exact-below', exactBelow, '--quiet'], {
      cwd: scratch,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const found = /on (http:\/\/\S+)/.exec(out);
          if (found) resolve(found[1]);
        });
        server.once('exit', (code) => reject(new Error(`shnet serve exited ${code}`)));
      });
      const rng = createRng(kind === 'ann' ? 1 : 2);
      await fetch(`${url}/query?text=${encodeURIComponent(captions[0])}&k=${K}`); // warm-up
      const loadStarted = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          for (let r = 0; r < requests; r++) {
            const text = captions[rng.int(captions.length)];
            const start = performance.now();
            const response = await fetch(`${url}/query?text=${encodeURIComponent(text)}&k=${K}`);
            await response.arrayBuffer();
            if (!response.ok) throw new Error(`query failed: ${response.status}`);
            latencies[kind].push(performance.now() - start);
          }
        }),
      );
      seconds[kind] = (performance.now() - loadStarted) / 1000;
    } finally {
      server.kill('SIGTERM');
      await new Promise((done) => server.once('exit', done));
    }
  }
  const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
  const load = `${clients} clients × ${requests} requests, ${embeddings.numImages} images`;
  const throughput = (kind: 'ann' | 'exact') => latencies[kind].length / seconds[kind];
  return [
    ...([50, 99] as const).map((p) => ({
      section: SECTION,
      measure: `serve /query p${p} (encode + search + HTTP), ${load}`,
      value: `HNSW ${fmt(percentile(latencies.ann, p))} ms`,
      against: `exact ${fmt(percentile(latencies.exact, p))} ms`,
      ratio: percentile(latencies.exact, p) / percentile(latencies.ann, p),
    })),
    {
      section: SECTION,
      measure: `serve /query throughput, ${load}`,
      value: `HNSW ${fmt(throughput('ann'))} queries/s`,
      against: `exact ${fmt(throughput('exact'))} queries/s`,
      ratio: throughput('ann') / throughput('exact'),
    },
  ];
}

if (require.main === module) runSection(retrievalIndex);

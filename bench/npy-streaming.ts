/**
 * Section 5 of `npm run bench`: streaming read throughput of NpyReader against `cat FILE > /dev/null` on the same file.
 *
 *   node dist/bench/npy-streaming.js   (or npx ts-node --transpile-only bench/npy-streaming.ts)
 *
 * Writes an [N, 36, 2048] float32 file (N from SHNET_BENCH_NPY_ROWS, default 2000, about 590 MB; the directory
 * from SHNET_BENCH_DIR, default the OS temp dir), then reads every row once in a shuffled order, in batches of
 * SHNET_BENCH_NPY_BATCH (default 128) into one reused output buffer, with the async path (coalesced reads, 8 in flight) and the sync one.
 * The page cache is not dropped, so `cat` runs once untimed to warm it: every number is a page-cache read, and the ratio
 * measures the reader's overhead (syscalls per row, copies, batching), not the disk.
 *
 * Both sides get the same treatment: one untimed warm-up (cat's warms the page cache, the reader's faults in the
 * output buffer once, as a training loop that reuses its batch buffer has it), then SHNET_BENCH_NPY_REPS rounds
 * (default 3) of cat, async and sync, each side's best round counted, since the machine is shared and a slow round
 * says more about the neighbours than the code. cat's time excludes starting the process: the best time of
 * `cat /dev/null > /dev/null` (same shell, same spawn, no data) is subtracted. The file is deleted afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NpyReader, NpyStreamWriter } from '../core/io/npy/npy';
import { fmt, runSection, type SectionResult } from './report';

const ROWS = Number(process.env.SHNET_BENCH_NPY_ROWS ?? 2000);
const BATCH = Number(process.env.SHNET_BENCH_NPY_BATCH ?? 128);
const REPS = Number(process.env.SHNET_BENCH_NPY_REPS ?? 3);
const ROW_SHAPE = [36, 2048];
const ROW_LENGTH = ROW_SHAPE[0] * ROW_SHAPE[1];

/** Deterministic shuffle (xorshift32 Fisher-Yates), so runs are comparable. */
function shuffled(n: number, seed = 12345): Int32Array {
  const order = Int32Array.from({ length: n }, (_, k) => k);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function writeFixture(path: string): void {
  const writer = NpyStreamWriter.create(path, '<f4', [ROWS, ...ROW_SHAPE]);
  const chunk = new Float32Array(64 * ROW_LENGTH);
  for (let start = 0; start < ROWS; start += 64) {
    const rows = Math.min(64, ROWS - start);
    for (let k = 0; k < rows * ROW_LENGTH; k++) chunk[k] = (start * ROW_LENGTH + k) % 1000;
    writer.append(chunk.subarray(0, rows * ROW_LENGTH));
  }
  writer.finish();
}

export async function npyStreaming(): Promise<SectionResult> {
  const dir = mkdtempSync(join(process.env.SHNET_BENCH_DIR ?? tmpdir(), 'shnet-npy-bench-'));
  const path = join(dir, 'features.npy');
  try {
    writeFixture(path);
    const bytes = statSync(path).size;

    const cat = (file: string) => execFileSync('sh', ['-c', 'cat "$1" > /dev/null', 'sh', file]);
    const reader = NpyReader.open(path, { expectShape: [ROWS, ...ROW_SHAPE] });
    const order = shuffled(ROWS);
    const out = new Float32Array(BATCH * ROW_LENGTH);
    let checksum = 0;
    const readAsync = async () => {
      for (let start = 0; start < ROWS; start += BATCH) {
        await reader.readRows(order.subarray(start, Math.min(ROWS, start + BATCH)), out);
        checksum += out[0]; // keeps the reads observable
      }
    };
    const readSync = () => {
      for (let start = 0; start < ROWS; start += BATCH) {
        reader.readRowsSync(order.subarray(start, Math.min(ROWS, start + BATCH)), out);
        checksum += out[0];
      }
    };
    const seconds = async (run: () => unknown) => {
      const t = process.hrtime.bigint();
      await run();
      return Number(process.hrtime.bigint() - t) / 1e9;
    };

    cat(path); // warms the page cache (the file was just written, but part of it may have been evicted)
    reader.readRowsSync(order.subarray(0, BATCH), out); // faults in the reused output buffer
    let catSeconds = Infinity;
    let spawnSeconds = Infinity;
    let readSeconds = Infinity;
    let syncSeconds = Infinity;
    for (let round = 0; round < REPS; round++) {
      catSeconds = Math.min(catSeconds, await seconds(() => cat(path)));
      spawnSeconds = Math.min(spawnSeconds, await seconds(() => cat('/dev/null')));
      readSeconds = Math.min(readSeconds, await seconds(readAsync));
      syncSeconds = Math.min(syncSeconds, await seconds(readSync));
    }
    reader.close();
    catSeconds -= Math.min(spawnSeconds, catSeconds / 2); // a spawn slower than half of cat is noise, not start-up

    const dataBytes = ROWS * ROW_LENGTH * 4;
    const shape = `[${ROWS}, ${ROW_SHAPE.join(', ')}] f32, batches of ${BATCH}, shuffled, best of ${REPS}`;
    const catMBs = bytes / catSeconds / 1e6;
    const row = (name: string, s: number) => {
      const ratio = dataBytes / s / 1e6 / catMBs;
      return {
        section: '5 streaming',
        measure: `${name}, ${shape}`,
        value: `${fmt(dataBytes / s / 1e6, 0)} MB/s`,
        against: `cat ${fmt(catMBs, 0)} MB/s (page cache, start-up excluded)`,
        ratio,
        target: '≥ 0.8',
        met: ratio >= 0.8,
      };
    };
    return { rows: [row('NpyReader.readRows', readSeconds), row('NpyReader.readRowsSync', syncSeconds)], data: { checksum } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) runSection(npyStreaming);

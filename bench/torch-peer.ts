/**
 * The PyTorch peer of the benchmark: bench/peer/image_encoder.py (the 3SHNet image encoder written in PyTorch from
 * the model description, same shapes and parameters) in a child process that stays up for the whole section, so
 * shnet's measurements and the peer's alternate in one run without paying PyTorch's start-up each time.
 *
 * The interpreter is the one the tests use for PyTorch (test/support/torch-python.ts: SHNET_TORCH_PYTHON, else
 * Debian's python3-torch under /usr/bin/python3, which .ci/run installs). Without one the section falls back to
 * {@link STATED_PEER}, labelled as such in the table.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { REPO_ROOT } from '../test/support/python-env';
import { torchPython } from '../test/support/torch-python';

/**
 * The figures the benchmark compared against before the peer ran in it, measured once on a machine like this one:
 * image encoder forward + backward at batch 32, and images/s of inference at batch 128. Only a fallback.
 */
export const STATED_PEER = { imageStepMsAt32: 4500, imagesPerSecondAt128: 25 } as const;

/** What the peer reports about itself. */
export interface PeerInfo {
  torch: string;
  threads: number;
  parameters: number;
  /** Element counts of its parameters, ascending (compared with shnet's in the tests). */
  sizes: number[];
  /** The BLAS library the process loaded (its matMul speed decides most of the peer's time). */
  blas: string;
}

const SCRIPT = join(REPO_ROOT, 'bench', 'peer', 'image_encoder.py');

/** A running peer process; requests are answered one at a time, in order. */
export class TorchPeer {
  private readonly lines: Interface;
  private readonly pending: ((line: string) => void)[] = [];
  private stderr = '';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.pending.shift()?.(line));
    child.stderr.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
  }

  /** Starts the peer with `threads` PyTorch threads, or returns null when no Python imports torch. */
  static start(threads: number): TorchPeer | null {
    const python = torchPython();
    if (python == null) return null;
    const child = spawn(python, [SCRIPT], { env: { ...process.env, SHNET_PEER_THREADS: String(threads) }, stdio: ['pipe', 'pipe', 'pipe'] });
    return new TorchPeer(child);
  }

  async info(): Promise<PeerInfo> {
    return (await this.request({ op: 'info' })) as unknown as PeerInfo;
  }

  /**
   * `runs` timings (ms) of one forward + backward (`train`) or one forward (`infer`) at batch `batch`, after an
   * untimed run when `warmup` (the first call of a workload compiles kernels and grows allocator pools).
   */
  async time(op: 'train' | 'infer', batch: number, runs: number, warmup = true): Promise<number[]> {
    return ((await this.request({ op, batch, runs, warmup })) as { ms: number[] }).ms;
  }

  /** Ends the process (its stdin closes, so its request loop ends) and waits for it. */
  async close(): Promise<void> {
    const exited = new Promise<void>((resolve) => (this.child.exitCode != null ? resolve() : this.child.once('exit', () => resolve())));
    this.child.stdin.end();
    this.lines.close();
    await exited;
  }

  private request(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the PyTorch peer exited (code ${code}) during ${JSON.stringify(body)}:\n${this.stderr}`));
      this.child.once('exit', onExit);
      this.pending.push((line) => {
        this.child.off('exit', onExit);
        const answer = JSON.parse(line) as Record<string, unknown>;
        if (typeof answer.error === 'string') reject(new Error(`PyTorch peer: ${answer.error}`));
        else resolve(answer);
      });
      this.child.stdin.write(`${JSON.stringify(body)}\n`);
    });
  }
}

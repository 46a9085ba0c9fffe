/**
 * Section 4 of `npm run bench`, the image encoder against its PyTorch peer, both measured in this run: the 3SHNet
 * image encoder (bench/model.ts) and bench/peer/image_encoder.py (the same encoder in PyTorch: same blocks, shapes
 * and parameters) take turns on the same cores, round after round, in two workloads:
 *   - training: forward + backward of the encoder's summed output at batch 32 (target: ≤ half the peer's time);
 *   - inference: one forward in evaluation mode at batch 128 (target: ≥ 2× the peer's images/s).
 * Each side warms up once per workload, then each round times each side once; the table gives the medians over
 * the rounds and their ratio. Two more rows bound what any implementation on the backend could reach: the encoder's
 * FLOPs (bench/flops.ts) at the backend's best matMul rate of section 1, against the same peer times; where that
 * ratio is below the target, the target cannot be met on this backend and machine by computing the same products.
 * Without a Python that imports torch, the peer is the stated figure
 * {@link STATED_PEER}, labelled as such.
 *
 * Run alone: node dist/bench/peer-comparison.js. Environment: SHNET_BENCH_PEER_BATCH (32), SHNET_BENCH_INFER_BATCH
 * (128), SHNET_BENCH_PEER_ROUNDS (3), SHNET_BENCH_BACKEND (auto), SHNET_TORCH_PYTHON (the interpreter to use).
 */
import { cpus } from 'node:os';
import { tf } from '../core/backend/tf';
import { selectBackend, type BackendRequest } from '../core/backend/select';
import { countTrainable, trainableVariables } from '../core/nn';
import { createRng } from '../core/services/rng';
import { COCO_INFO } from '../test/support/plugin-harness';
import { buildImageEncoder, FULL } from '../test/support/model-fixtures';
import { bestMatmulGflops } from './backend-matmul';
import { imageEncoderFlops, total } from './flops';
import { EMBED_DIM, imageBatch } from './model';
import { envNumber, fmt, runSection, type Row, type SectionResult } from './report';
import { STATED_PEER, TorchPeer } from './torch-peer';

const SECTION = '4 vs PyTorch';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall time (ms) of `fn`, which ends with a read-back. */
function timeOnce(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export async function peerComparison(): Promise<SectionResult> {
  const trainBatch = envNumber('SHNET_BENCH_PEER_BATCH', 32);
  const inferBatch = envNumber('SHNET_BENCH_INFER_BATCH', 128);
  const rounds = envNumber('SHNET_BENCH_PEER_ROUNDS', 3);
  const info = await selectBackend((process.env.SHNET_BENCH_BACKEND ?? 'auto') as BackendRequest);
  const peer = TorchPeer.start(cpus().length);
  try {
    const peerInfo = peer ? await peer.info() : null;
    const encoder = buildImageEncoder(FULL, COCO_INFO, EMBED_DIM);
    const parameters = countTrainable(encoder);
    const vars = trainableVariables(encoder);
    const training = { training: true, rng: createRng(9) };
    const inference = { training: false, rng: createRng(0) };
    const trainInputs = imageBatch(trainBatch);
    const trainStep = () => {
      const { value, grads } = tf.variableGrads(() => encoder.encode(trainInputs, training).sum() as tf.Scalar, vars);
      value.dataSync();
      tf.dispose([value, grads]);
    };
    const inferInputs = imageBatch(inferBatch);
    const inferStep = () => tf.tidy(() => void encoder.encode(inferInputs, inference).dataSync());

    const times = { train: [] as number[], infer: [] as number[], peerTrain: [] as number[], peerInfer: [] as number[] };
    // Warm-ups (first calls compile kernels and grow the heap), then alternate: ours, the peer's, ours, ...
    trainStep();
    inferStep();
    if (peer) {
      await peer.time('train', trainBatch, 0);
      await peer.time('infer', inferBatch, 0);
    }
    for (let round = 0; round < rounds; round++) {
      times.train.push(timeOnce(trainStep));
      if (peer) times.peerTrain.push(...(await peer.time('train', trainBatch, 1, false)));
      times.infer.push(timeOnce(inferStep));
      if (peer) times.peerInfer.push(...(await peer.time('infer', inferBatch, 1, false)));
    }
    encoder.dispose();
    tf.dispose([trainInputs.regions, inferInputs.regions, ...Object.values(trainInputs.segmentation ?? {}), ...Object.values(inferInputs.segmentation ?? {})]);

    const trainMs = median(times.train);
    const inferPerSecond = (1000 * inferBatch) / median(times.infer);
    const peerName = peerInfo
      ? `PyTorch ${peerInfo.torch} (${peerInfo.threads} threads, ${peerInfo.blas}), same run`
      : 'PyTorch peer: STATED figure, no torch here';
    const peerTrainMs = peer ? median(times.peerTrain) : (STATED_PEER.imageStepMsAt32 * trainBatch) / 32;
    const peerPerSecond = peer ? (1000 * inferBatch) / median(times.peerInfer) : STATED_PEER.imagesPerSecondAt128;
    const name = `${info.name}, ${info.threads} thread${info.threads === 1 ? '' : 's'}`;
    const of = `median of ${rounds}${peer ? ', alternating with the peer' : ''}`;
    const rows: Row[] = [
      {
        section: SECTION,
        measure: `${name}: image encoder fwd+bwd, B=${trainBatch} (${of})`,
        value: `${fmt(trainMs, 0)} ms`,
        against: `${peerName} ${fmt(peerTrainMs, 0)} ms`,
        ratio: peerTrainMs / trainMs,
        target: '≥ 2 (≤ half the peer)',
        met: peerTrainMs / trainMs >= 2,
      },
      {
        section: SECTION,
        measure: `${name}: image encoder inference, B=${inferBatch} (${of})`,
        value: `${fmt(inferPerSecond)} images/s`,
        against: `${peerName} ${fmt(peerPerSecond)} images/s`,
        ratio: inferPerSecond / peerPerSecond,
        target: '≥ 2',
        met: inferPerSecond / peerPerSecond >= 2,
      },
    ];
    const peak = bestMatmulGflops(info.name);
    const trainFlops = total(imageEncoderFlops(trainBatch));
    const boundTrainMs = trainFlops / peak / 1e6;
    const imageForwardFlops = total(imageEncoderFlops(inferBatch), 'forward') / inferBatch;
    const boundPerSecond = (peak * 1e9) / imageForwardFlops;
    const atPeak = `if every FLOP ran at ${info.name}'s best matMul rate, ${fmt(peak)} GFLOP/s (section 1)`;
    rows.push(
      {
        section: SECTION,
        measure: `${name}: image encoder fwd+bwd, B=${trainBatch}, ${atPeak}: ${fmt(trainFlops / 1e9)} GFLOP`,
        value: `${fmt(boundTrainMs, 0)} ms`,
        against: `the peer's ${fmt(peerTrainMs, 0)} ms above`,
        ratio: peerTrainMs / boundTrainMs,
      },
      {
        section: SECTION,
        measure: `${name}: image encoder inference, ${atPeak}: ${fmt(imageForwardFlops / 1e9, 2)} GFLOP an image`,
        value: `${fmt(boundPerSecond)} images/s`,
        against: `the peer's ${fmt(peerPerSecond)} images/s above`,
        ratio: boundPerSecond / peerPerSecond,
      },
    );
    if (peerInfo) {
      rows.push({
        section: SECTION,
        measure: 'parameters of the image encoder: the peer',
        value: peerInfo.parameters.toLocaleString('en-US'),
        against: `shnet ${parameters.toLocaleString('en-US')}`,
      });
    }
    return { rows, data: { trainMs, peerTrainMs, inferPerSecond, peerPerSecond, boundTrainMs, boundPerSecond, peerMeasured: peer ? 1 : 0 } };
  } finally {
    await peer?.close();
  }
}

if (require.main === module) runSection(peerComparison);

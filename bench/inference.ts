/**
 * Section 4 of `npm run bench`, image-encoder inference: images/s of the 3SHNet image encoder (bench/model.ts) in
 * evaluation mode at batch 128, against the PyTorch peer's 25 images/s at the same batch.
 *
 * Run alone: node dist/bench/inference.js. Environment: SHNET_BENCH_INFER_BATCH (default 128), SHNET_BENCH_RUNS
 * (default 3), SHNET_BENCH_BACKEND (default auto).
 */
import { tf } from '../core/backend/tf';
import { selectBackend, type BackendRequest } from '../core/backend/select';
import { createRng } from '../core/services/rng';
import { COCO_INFO } from '../test/support/plugin-harness';
import { buildImageEncoder, FULL } from '../test/support/model-fixtures';
import { EMBED_DIM, imageBatch, medianMs } from './model';
import { envNumber, fmt, runSection, type SectionResult } from './report';

/** The PyTorch reference on the same kind of machine: image encoder inference at batch 128. */
export const PYTORCH_IMAGES_PER_SECOND = 25;

export async function inference(): Promise<SectionResult> {
  const b = envNumber('SHNET_BENCH_INFER_BATCH', 128);
  const runs = envNumber('SHNET_BENCH_RUNS', 3);
  const info = await selectBackend((process.env.SHNET_BENCH_BACKEND ?? 'auto') as BackendRequest);
  const encoder = buildImageEncoder(FULL, COCO_INFO, EMBED_DIM);
  const batch = imageBatch(b);
  const mode = { training: false, rng: createRng(0) };
  const ms = medianMs(runs, () => tf.tidy(() => void encoder.encode(batch, mode).dataSync()));
  const perSecond = (1000 * b) / ms;
  encoder.dispose();
  return {
    rows: [
      {
        section: '4 inference',
        measure: `${info.name}: image encoder, batch ${b}`,
        value: `${fmt(perSecond)} images/s (${fmt(ms, 0)} ms a batch)`,
        against: `PyTorch peer ${PYTORCH_IMAGES_PER_SECOND} images/s`,
        ratio: perSecond / PYTORCH_IMAGES_PER_SECOND,
        target: '≥ 2',
        met: perSecond / PYTORCH_IMAGES_PER_SECOND >= 2,
      },
    ],
    data: { perSecond },
  };
}

if (require.main === module) runSection(inference);

import { strict as assert } from 'node:assert';
import { tf } from '../../../core/backend/tf';
import { EMBEDDING_DIAGNOSTICS, embeddingDiagnostics } from '../../../core/train/embedding-diagnostics';
import { expectNoLeak } from '../../support/tensors';

/** The diagnostics of `[B, D]` row arrays, by name. */
function diagnose(images: number[][], captions: number[][]): Record<string, number> {
  return tf.tidy(() => {
    const values = embeddingDiagnostics(tf.tensor2d(images), tf.tensor2d(captions)).arraySync();
    return Object.fromEntries(EMBEDDING_DIAGNOSTICS.map((name, i) => [name, values[i]]));
  });
}

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-5, `${what}: ${actual} vs ${expected}`);

describe('core/train/embedding-diagnostics', () => {
  it('reads a well-spread batch: orthonormal pairs, every positive first, rank B − 1 after centring', () => {
    const eye = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (i === j ? 1 : 0)));
    const d = diagnose(eye, eye);
    close(d.positive_cosine, 1, 'positive');
    close(d.hardest_negative_cosine, 0, 'hardest negative');
    close(d.batch_r1, 1, 'in-batch R@1');
    close(d.image_cosine, 0, 'image cosine');
    close(d.caption_cosine, 0, 'caption cosine');
    // Centred one-hot rows: Gram = I − 1/4, eigenvalues 1, 1, 1, 0 -> (3)² / 3 = 3.
    close(d.image_rank, 3, 'image rank');
  });

  it('reads a collapsed batch: every cosine 1, no positive ahead, rank 0', () => {
    const same = Array.from({ length: 5 }, () => [0.6, 0.8]);
    const d = diagnose(same, same);
    close(d.image_cosine, 1, 'image cosine');
    close(d.caption_cosine, 1, 'caption cosine');
    close(d.batch_r1, 0, 'a tie is not a win');
    close(d.positive_cosine - d.hardest_negative_cosine, 0, 'positive = hardest negative');
    close(d.image_rank, 0, 'image rank');
  });

  it('finds the hardest negative of each image and counts the images it beats', () => {
    const images = [
      [1, 0],
      [0, 1],
    ];
    // Image 0's own caption (0.8) loses to caption 1 (0.96); image 1's own caption (0.28) loses to caption 0 (0.6).
    const captions = [
      [0.8, 0.6],
      [0.96, 0.28],
    ];
    const d = diagnose(images, captions);
    close(d.positive_cosine, (0.8 + 0.28) / 2, 'positive');
    close(d.hardest_negative_cosine, (0.96 + 0.6) / 2, 'hardest negative');
    close(d.batch_r1, 0, 'neither image ranks its caption first');
  });

  it('leaks no tensor', async () => {
    const images = tf.randomNormal([6, 4]) as tf.Tensor2D;
    await expectNoLeak(() => embeddingDiagnostics(images, images).dispose(), 'diagnostics');
    images.dispose();
  });
});

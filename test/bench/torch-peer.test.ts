import { strict as assert } from 'node:assert';
import 'reflect-metadata';
import { TorchPeer } from '../../bench/torch-peer';
import { EMBED_DIM } from '../../bench/model';
import { buildImageEncoder, FULL } from '../support/model-fixtures';
import { COCO_INFO } from '../support/plugin-harness';
import { requireTorch } from '../support/torch-python';

describe("the benchmark's PyTorch peer (bench/peer/image_encoder.py)", function () {
  this.timeout(60_000);
  let peer: TorchPeer | null = null;

  before(function () {
    requireTorch(this);
    peer = TorchPeer.start(1);
  });
  after(async () => {
    await peer?.close();
  });

  it("has the parameters of shnet's image encoder at the benchmark's sizes, tensor by tensor", async () => {
    const info = await peer!.info();
    const encoder = buildImageEncoder(FULL, COCO_INFO, EMBED_DIM);
    const ours = encoder
      .parameters()
      .filter((p) => p.trainable)
      .map((p) => p.variable.size)
      .sort((a, b) => a - b);
    encoder.dispose();
    assert.equal(info.parameters, 11_615_008);
    assert.deepEqual(info.sizes, ours);
    assert.ok(info.threads === 1 && info.blas.length > 0, JSON.stringify({ threads: info.threads, blas: info.blas }));
  });

  it('times a training step and an inference at a small batch, with and without a warm-up', async () => {
    const [train] = await peer!.time('train', 2, 1);
    const infer = await peer!.time('infer', 2, 2, false);
    assert.ok(train > 0 && infer.length === 2 && infer.every((ms) => ms > 0), JSON.stringify({ train, infer }));
    assert.deepEqual(await peer!.time('infer', 2, 0), []);
  });
});

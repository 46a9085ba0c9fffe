import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flattenTensors, readTorchFile, toPlain, TorchTensor } from '../../../../core/io/torch';
import { requireTorch, runTorch } from '../../../support/torch-python';

/**
 * Saves a dict of tensors with real torch.save (views chosen to exercise offsets, strides and dtypes), and prints
 * every tensor's dtype, shape and values (as float64 lists) for comparison.
 */
const SAVE = `
import sys, json, argparse, collections, zipfile, torch, numpy as np
torch.manual_seed(0)
shared = torch.randn(40)
conv = torch.randn(4, 3, 3, 3)
sd = collections.OrderedDict()
sd['contiguous'] = torch.randn(3, 5)
sd['transposed'] = torch.randn(5, 3).t()
sd['offset_view'] = shared[7:19].view(3, 4)
sd['offset_strided'] = shared[3:].view(37)[::4][:6].view(2, 3)
sd['channels_last'] = conv.contiguous(memory_format=torch.channels_last)
sd['expanded'] = torch.arange(5).expand(2, 5)
sd['f16'] = torch.tensor([1.5, -2.25, 65504.0, 6e-8, 0.1], dtype=torch.float16)
sd['bf16'] = torch.tensor([1.5, -2.25, 3.0e38, 0.1], dtype=torch.bfloat16)
sd['f64'] = torch.tensor([[1 / 3, -1e-40]], dtype=torch.float64)
sd['num_batches_tracked'] = torch.tensor(12345678901)
sd['int32'] = torch.tensor([-7, 8], dtype=torch.int32)
sd['bool'] = torch.tensor([True, False, True])
sd['empty'] = torch.zeros(0, 4)
param = torch.nn.Parameter(torch.randn(2, 2))
opt = argparse.Namespace(learning_rate=5e-4, data_name='coco_precomp', max_violation=True, lr_schedules=[15], margin=0.2)
obj = {'model': [sd, {'param': param, 'shared_again': shared[:3]}], 'epoch': 9, 'best_rsum': np.float64(537.25), 'Eiters': 2 ** 40, 'opt': opt}
torch.save(obj, sys.argv[1])
if len(sys.argv) > 2:
    # The same archive re-written with every entry deflated.
    with zipfile.ZipFile(sys.argv[1]) as src, zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
flat = {}
for i, d in enumerate(obj['model']):
    for k, t in d.items():
        flat[f'model.{i}.{k}'] = {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'values': t.detach().double().flatten().tolist()}
print(json.dumps(flat))
`;

interface Expected {
  readonly dtype: string;
  readonly shape: number[];
  readonly values: number[];
}

describe('readTorchFile (real torch.save output) @slow', () => {
  let dir: string;
  let expected: Record<string, Expected>;
  let plain: string;
  let deflated: string;

  before(function () {
    const python = requireTorch(this);
    dir = mkdtempSync(join(tmpdir(), 'shnet-torch-'));
    plain = join(dir, 'model_best.pth');
    deflated = join(dir, 'deflated.pth');
    expected = JSON.parse(runTorch(python, SAVE, [plain, deflated])) as Record<string, Expected>;
  });

  for (const variant of ['stored', 'deflated'] as const) {
    it(`round-trips every tensor's dtype, shape and values (${variant} entries)`, () => {
      const { object } = readTorchFile(variant === 'stored' ? plain : deflated);
      const tensors = flattenTensors(object);
      assert.deepEqual([...tensors.keys()], Object.keys(expected));
      for (const [name, want] of Object.entries(expected)) {
        const got = tensors.get(name)!;
        assert.equal(got.dtype, want.dtype, name);
        assert.deepEqual(got.shape, want.shape, name);
        // float16/bfloat16/float64 arrive as float32: compare with the float32 rounding of torch's value.
        const values = got.isFloat ? want.values.map(Math.fround) : want.values;
        assert.deepEqual(Array.from(got.data), values, name);
      }
    });
  }

  it('keeps floats as Float32Array and integers (num_batches_tracked) as numbers', () => {
    const tensors = flattenTensors(readTorchFile(plain).object);
    assert.ok(tensors.get('model.0.f16')!.data instanceof Float32Array);
    const count = tensors.get('model.0.num_batches_tracked')!;
    assert.ok(Array.isArray(count.data));
    assert.deepEqual(count.shape, []);
    assert.equal(count.data[0], 12345678901);
  });

  it('returns the non-tensor parts as plain JavaScript: epoch, numpy best_rsum, Eiters, argparse options', () => {
    const top = toPlain(readTorchFile(plain).object) as Record<string, unknown>;
    assert.equal(top.epoch, 9);
    assert.equal(top.best_rsum, 537.25);
    assert.equal(top.Eiters, 2 ** 40);
    assert.deepEqual(top.opt, { learning_rate: 5e-4, data_name: 'coco_precomp', max_violation: true, lr_schedules: [15], margin: 0.2 });
    assert.ok((top.model as unknown[])[0] && (top.model as Record<string, unknown>[])[0].contiguous instanceof TorchTensor);
  });
});

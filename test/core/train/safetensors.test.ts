import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../core/train/atomic-write';
import { decodeSafetensors, encodeSafetensors, writeSafetensors, type HostTensor } from '../../../core/train/safetensors';
import { runPython } from '../../support/python-env';

const sample = (): Map<string, HostTensor> =>
  new Map<string, HostTensor>([
    ['image.fc.weight', { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2.5, 3e-8, Math.PI, -0, 1e30]) }],
    ['image.fc.bias', { dtype: 'F32', shape: [3], data: new Float32Array([0.5, 0.25, -0.125]) }],
    ['optimizer.step', { dtype: 'I32', shape: [], data: new Int32Array([7]) }],
    ['text.empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
  ]);

const concat = (chunks: Uint8Array[]) => Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));

describe('safetensors', () => {
  it('round-trips tensors, shapes, dtypes and metadata', () => {
    const bytes = concat(encodeSafetensors(sample(), { format: 'test', note: '{"a":1}' }));
    const { tensors, metadata } = decodeSafetensors(bytes);
    assert.deepEqual(metadata, { format: 'test', note: '{"a":1}' });
    assert.deepEqual([...tensors.keys()], [...sample().keys()]);
    for (const [name, t] of sample()) {
      const got = tensors.get(name)!;
      assert.equal(got.dtype, t.dtype, name);
      assert.deepEqual(got.shape, t.shape, name);
      assert.deepEqual(got.data, t.data, name);
    }
  });

  it('lays out the header as the format defines: u64 LE length, 8-byte aligned data, offsets into the data', () => {
    const bytes = concat(encodeSafetensors(sample()));
    const length = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + length) % 8, 0);
    const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Record<string, { data_offsets: number[] }>;
    assert.deepEqual(header['image.fc.weight'].data_offsets, [0, 24]);
    assert.deepEqual(header['image.fc.bias'].data_offsets, [24, 36]);
    assert.equal(bytes.readFloatLE(8 + length + 24), 0.5);
    assert.equal('__metadata__' in header, false);
  });

  it('rejects truncated and malformed files with the reason', () => {
    const bytes = concat(encodeSafetensors(sample()));
    assert.throws(() => decodeSafetensors(bytes.subarray(0, 5), 'x.safetensors'), /x\.safetensors: .*shorter than/);
    assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4)), /offsets .* do not match/);
    const bad = Buffer.from(bytes);
    bad.writeBigUInt64LE(BigInt(bytes.length));
    assert.throws(() => decodeSafetensors(bad), /header length/);
    assert.throws(() => encodeSafetensors(new Map([['w', { dtype: 'F32', shape: [4], data: new Float32Array(3) }]])), /shape \[4\] but 3 values/);
  });

  it('is read back by Python (the reference safetensors package, numpy)', function () {
    this.timeout(300_000);
    const dir = mkdtempSync(join(tmpdir(), 'shnet-st-'));
    const path = join(dir, 'w.safetensors');
    writeSafetensors(path, sample(), { format: 'test' });
    const out = runPython(
      [
        'import json, sys',
        'from safetensors import safe_open',
        'from safetensors.numpy import load_file',
        'arrays = load_file(sys.argv[1])',
        'with safe_open(sys.argv[1], framework="np") as f:',
        '    meta = f.metadata()',
        'out = {"meta": meta}',
        'for name, a in arrays.items():',
        '    out[name] = {"dtype": str(a.dtype), "shape": list(a.shape), "values": a.ravel().tolist()}',
        'print(json.dumps(out))',
      ].join('\n'),
      [path],
    );
    const got = JSON.parse(out) as Record<string, { dtype: string; shape: number[]; values: number[] }> & { meta: Record<string, string> };
    assert.deepEqual(got.meta, { format: 'test' });
    for (const [name, t] of sample()) {
      assert.equal(got[name].dtype, t.dtype === 'F32' ? 'float32' : 'int32', name);
      assert.deepEqual(got[name].shape, t.shape, name);
      assert.deepEqual(got[name].values, Array.from(t.data), name);
    }
  });
});

describe('writeFileAtomic', () => {
  it('leaves the previous file intact and no temp file when the write fails before the rename', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-atomic-'));
    const path = join(dir, 'last.safetensors');
    writeFileSync(path, 'previous');
    assert.throws(
      () =>
        writeFileAtomic(path, [Buffer.from('new content')], {
          beforeRename: (temp) => {
            assert.equal(readFileSync(temp, 'utf8'), 'new content');
            throw new Error('killed');
          },
        }),
      /killed/,
    );
    assert.equal(readFileSync(path, 'utf8'), 'previous');
    assert.deepEqual(readdirSync(dir), ['last.safetensors']);
    writeFileAtomic(path, [Buffer.from('new '), Buffer.from('content')]);
    assert.equal(readFileSync(path, 'utf8'), 'new content');
  });
});

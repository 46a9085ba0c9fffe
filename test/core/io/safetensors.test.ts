import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../core/errors';
import { writeFileAtomic } from '../../../core/atomic-write';
import { readSafetensors, SafetensorsFile, withSafetensors } from '../../../core/io/safetensors';
import { encodeSafetensors, writeSafetensors, type HostTensor } from '../../../core/io/safetensors-writer';
import { runPython } from '../../support/python-env';
import { assertClose } from '../../support/tensors';

const sample = (): Map<string, HostTensor> =>
  new Map<string, HostTensor>([
    ['image.fc.weight', { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, -2.5, 3e-8, Math.PI, -0, 1e30]) }],
    ['image.fc.bias', { dtype: 'F32', shape: [3], data: new Float32Array([0.5, 0.25, -0.125]) }],
    ['optimizer.step', { dtype: 'I32', shape: [], data: new Int32Array([7]) }],
    ['text.empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
  ]);

const concat = (chunks: Uint8Array[]) => Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));

/** Writes `bytes` to a fresh temporary file named `name` and returns its path. */
function tempFile(bytes: Uint8Array, name = 'x.safetensors'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'shnet-st-')), name);
  writeFileSync(path, bytes);
  return path;
}

/** A safetensors file holding `header` (as JSON) and `data` bytes. */
function rawFile(header: unknown, data: Uint8Array, name?: string): string {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return tempFile(Buffer.concat([prefix, json, data]), name);
}

/** Asserts that `run` throws a {@link UsageError} naming `path` whose message matches `reason`. */
function assertRejects(run: () => unknown, path: string, reason: RegExp): void {
  assert.throws(run, (e: Error) => {
    assert.ok(e instanceof UsageError, `expected a UsageError, got ${e.name}: ${e.message}`);
    assert.ok(e.message.includes(path), `'${e.message}' names ${path}`);
    assert.match(e.message, reason);
    return true;
  });
}

/** A safetensors file written by numpy (no safetensors package) with one tensor per float dtype, plus an I64 buffer. */
function writeMixedFile(): { file: string; values: Record<string, number[][]> } {
  const file = join(mkdtempSync(join(tmpdir(), 'shnet-st-')), 'mixed.safetensors');
  const out = runPython(
    `
import json, sys
import numpy as np
v = np.array([[1.5, -2.25, 3.0e-5], [65504.0, -0.0, 0.333251953125]], np.float32)
bf16 = (v.view(np.uint32) >> 16).astype(np.uint16)          # truncation: exact for these values' top bits
blobs = {'f32': v.tobytes(), 'f16': v.astype(np.float16).tobytes(), 'bf16': bf16.tobytes(),
         'f64': v.astype(np.float64).tobytes(), 'ids': np.arange(4, dtype=np.int64).tobytes()}
dtypes = {'f32': 'F32', 'f16': 'F16', 'bf16': 'BF16', 'f64': 'F64', 'ids': 'I64'}
header, offset = {'__metadata__': {'format': 'pt'}}, 0
for k, b in blobs.items():
    header[k] = {'dtype': dtypes[k], 'shape': [4] if k == 'ids' else [2, 3], 'data_offsets': [offset, offset + len(b)]}
    offset += len(b)
h = json.dumps(header).encode()
with open(sys.argv[1], 'wb') as f:
    f.write(len(h).to_bytes(8, 'little')); f.write(h); f.write(b''.join(blobs.values()))
print(json.dumps({'f16': v.astype(np.float16).astype(np.float32).tolist(),
                  'bf16': (bf16.astype(np.uint32) << 16).view(np.float32).tolist(), 'f32': v.tolist()}))
`,
    [file],
  );
  return { file, values: JSON.parse(out) };
}

describe('core/io/safetensors', () => {
  it('round-trips tensors, shapes, dtypes and metadata', () => {
    const path = tempFile(concat(encodeSafetensors(sample(), { format: 'test', note: '{"a":1}' })));
    const { tensors, metadata } = readSafetensors(path);
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

  it('refuses to encode a tensor whose values do not fill its shape', () => {
    assert.throws(() => encodeSafetensors(new Map([['w', { dtype: 'F32', shape: [4], data: new Float32Array(3) }]])), /shape \[4\] but 3 values/);
    assert.throws(() => encodeSafetensors(new Map([['w', { dtype: 'I32', shape: [2], data: new Float32Array(2) }]])), /declared I32 but holds a Float32Array/);
  });

  it('rejects truncated and malformed files with a UsageError naming the file and the reason', () => {
    const bytes = concat(encodeSafetensors(sample()));
    let path = tempFile(Buffer.from([1, 2, 3]), 'short.safetensors');
    assertRejects(() => SafetensorsFile.open(path), path, /shorter than the 8-byte header length/);
    path = tempFile(bytes.subarray(0, 5));
    assertRejects(() => readSafetensors(path), path, /shorter than/);
    path = tempFile(bytes.subarray(0, bytes.length - 4));
    assertRejects(() => readSafetensors(path), path, /tensor '.*' offsets .* do not match/);
    const longHeader = Buffer.from(bytes);
    longHeader.writeBigUInt64LE(BigInt(bytes.length));
    path = tempFile(longHeader);
    assertRejects(() => readSafetensors(path), path, /header length \d+ exceeds the file/);
    path = rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8), 'lying.safetensors');
    assertRejects(() => SafetensorsFile.open(path), path, /tensor 'w' offsets \[0, 16\] do not match/);
    path = tempFile(Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{]')]));
    assertRejects(() => readSafetensors(path), path, /header is not JSON/);
    path = rawFile([1, 2], Buffer.alloc(0));
    assertRejects(() => readSafetensors(path), path, /header is not a JSON object/);
    path = rawFile({ w: { dtype: 'F17', shape: [1], data_offsets: [0, 4] } }, Buffer.alloc(4));
    assertRejects(() => readSafetensors(path), path, /tensor 'w' has unknown dtype F17/);
    path = rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, Buffer.alloc(4));
    assertRejects(() => readSafetensors(path), path, /tensor 'w' has a bad shape/);
    path = rawFile({ __metadata__: { step: 3 } }, Buffer.alloc(0));
    assertRejects(() => readSafetensors(path), path, /metadata 'step' is not a string/);
  });

  it('reads whole only the F32 and I32 tensors shnet writes', () => {
    const path = rawFile({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, Buffer.alloc(4), 'half.safetensors');
    assertRejects(() => readSafetensors(path), path, /tensor 'h' has dtype F16; shnet checkpoints hold F32 and I32/);
  });

  it('lists the header without reading data, and reads F32 / F16 / BF16 / F64 tensors as float32', () => {
    const { file, values } = writeMixedFile();
    withSafetensors(file, (st) => {
      assert.deepEqual([...st.entries.keys()], ['f32', 'f16', 'bf16', 'f64', 'ids']);
      assert.deepEqual(st.entries.get('ids')?.shape, [4]);
      assert.equal(st.metadata.format, 'pt');
      assertClose(st.readFloat32('f32'), values.f32.flat(), 'F32', 0, 0);
      assertClose(st.readFloat32('f16'), values.f16.flat(), 'F16', 0, 0);
      assertClose(st.readFloat32('bf16'), values.bf16.flat(), 'BF16', 0, 0);
      assertClose(st.readFloat32('f64'), values.f32.flat(), 'F64', 0, 0);
      assert.throws(() => st.readFloat32('ids'), /tensor 'ids' is I64/);
      assert.throws(() => st.readInt32('ids'), /tensor 'ids' is I64; only I32 read as int32/);
      assert.throws(
        () => st.readFloat32('nope'),
        (e: Error) => e.message.includes(file) && /no tensor 'nope'/.test(e.message),
      );
    });
  });

  it('reads I32 tensors as Int32Array, and refuses them as float32', () => {
    const path = tempFile(concat(encodeSafetensors(sample())));
    withSafetensors(path, (st) => {
      assert.deepEqual(st.readInt32('optimizer.step'), new Int32Array([7]));
      assert.throws(() => st.readInt32('image.fc.bias'), /tensor 'image.fc.bias' is F32; only I32 read as int32/);
      assert.throws(() => st.readFloat32('optimizer.step'), /tensor 'optimizer.step' is I32/);
    });
  });

  it('writes files the reference safetensors package (numpy) reads back', function () {
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

describe('core/atomic-write', () => {
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
    assert.deepEqual(readdirSync(dir), ['last.safetensors']);
  });

  it('keeps the previous checkpoint when writeSafetensors is interrupted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-atomic-'));
    const path = join(dir, 'last.safetensors');
    writeSafetensors(path, sample(), { format: 'old' });
    assert.throws(
      () =>
        writeSafetensors(
          path,
          new Map(),
          { format: 'new' },
          {
            beforeRename: () => {
              throw new Error('killed');
            },
          },
        ),
      /killed/,
    );
    assert.deepEqual(readSafetensors(path).metadata, { format: 'old' });
    assert.deepEqual(readdirSync(dir), ['last.safetensors']);
  });
});

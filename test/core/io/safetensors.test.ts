import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile, withSafetensors } from '../../../core/io/safetensors';
import { runPython } from '../../support/python-env';
import { assertClose } from '../../support/tensors';

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

describe('core/io/safetensors (reading foreign checkpoints)', () => {
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
      assert.throws(() => st.readFloat32('nope'), (e: Error) => e.message.includes(file) && /no tensor 'nope'/.test(e.message));
    });
  });

  it('refuses a truncated or malformed file, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-st-'));
    const short = join(dir, 'short.safetensors');
    writeFileSync(short, Buffer.from([1, 2, 3]));
    assert.throws(() => SafetensorsFile.open(short), (e: Error) => e.message.includes(short) && /shorter than/.test(e.message));
    const lying = join(dir, 'lying.safetensors');
    const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }));
    const prefix = Buffer.alloc(8);
    prefix.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(lying, Buffer.concat([prefix, header, Buffer.alloc(8)]));
    assert.throws(() => SafetensorsFile.open(lying), /tensor 'w' offsets \[0, 16\] do not match/);
  });
});

import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NpyStreamWriter, npyHeader } from '../../../../plugins/dataset/shapes/npy-writer';
import { runPython } from '../../../support/python-env';

describe('shapes npy writer', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'shapes-npy-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('pads the 1.0 header so data starts at a multiple of 64 bytes', () => {
    for (const shape of [[3], [2, 3], [1000, 6, 64], [123456, 7, 7, 7]]) {
      const header = npyHeader('<f4', shape);
      assert.equal(header.length % 64, 0);
      assert.equal(header.readUInt16LE(8), header.length - 10);
      assert.equal(header[header.length - 1], 0x0a);
    }
    assert.match(npyHeader('|u1', [5]).toString('latin1'), /'shape': \(5,\), }/);
  });

  it('streams chunks into files numpy reads exactly', () => {
    const floats = new NpyStreamWriter(join(dir, 'f.npy'), '<f4', [3, 2, 2]);
    floats.write(Float32Array.from([0.1, -2, 3.5, 1e-8]));
    floats.write(Float32Array.from([5, 6, 7, 8, 9, 10, 11, Math.PI]).subarray(0, 8));
    floats.commit();
    const bytes = new NpyStreamWriter(join(dir, 'u.npy'), '|u1', [4]);
    bytes.write(Uint8Array.from([0, 255]));
    bytes.write(Uint8Array.from([7, 8]));
    bytes.commit();
    const out = runPython(
      `import json, sys, numpy as np
f = np.load(sys.argv[1] + '/f.npy'); u = np.load(sys.argv[1] + '/u.npy')
print(json.dumps([str(f.dtype), f.shape, f.ravel().tolist(), str(u.dtype), u.shape, u.tolist()]))`,
      [dir],
    );
    const [fd, fs, fv, ud, us, uv] = JSON.parse(out);
    assert.deepEqual([fd, fs, ud, us], ['float32', [3, 2, 2], 'uint8', [4]]);
    assert.deepEqual(fv, [...Float32Array.from([0.1, -2, 3.5, 1e-8, 5, 6, 7, 8, 9, 10, 11, Math.PI])]);
    assert.deepEqual(uv, [0, 255, 7, 8]);
  });

  it('leaves nothing behind when incomplete or aborted', () => {
    const short = new NpyStreamWriter(join(dir, 'short.npy'), '<f4', [4]);
    short.write(new Float32Array(3));
    assert.throws(() => short.commit(), /wrote 3 of 4/);
    const aborted = new NpyStreamWriter(join(dir, 'aborted.npy'), '|u1', [2]);
    aborted.write(new Uint8Array(2));
    aborted.abort();
    const tooMany = new NpyStreamWriter(join(dir, 'many.npy'), '|u1', [2]);
    assert.throws(() => tooMany.write(new Uint8Array(3)), /more elements/);
    assert.throws(() => tooMany.write(new Float32Array(1) as unknown as Uint8Array), /needs a Uint8Array/);
    tooMany.abort();
    assert.deepEqual(readdirSync(dir), []);
    assert.ok(!existsSync(join(dir, 'short.npy')));
  });
});

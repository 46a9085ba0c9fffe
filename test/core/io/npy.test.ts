import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NpyError, NpyReader, NpyStreamWriter, readNpyHeader, writeNpy } from '../../../core/io/npy/npy';
import { encodeHeaderV1 } from '../../../core/io/npy/npy-header';
import { runPython } from '../../support/python-env';

/**
 * Fixtures written by real numpy. Each array's expected float32 values come back as JSON so that the reader is
 * checked against numpy's own `astype(np.float32)`, not against itself.
 */
const MAKE_FIXTURES = String.raw`
import json, sys, numpy as np
out = sys.argv[1]
expected = {}
def save(name, arr, version=None):
    path = f'{out}/{name}.npy'
    if version is None:
        np.save(path, arr)
    else:
        with open(path, 'wb') as f:
            np.lib.format.write_array(f, arr, version=version)
    expected[name] = {'shape': list(arr.shape), 'values': np.ascontiguousarray(arr).astype(np.float32).ravel().astype(float).tolist()}

rng = np.random.default_rng(7)
base = rng.normal(size=(7, 3, 4)) * 100
for dt in ['<f4', '<f8', '<i8', '<i4', '<u4', '<i2', '<u2', '|i1', '|u1']:
    arr = np.abs(base) if dt[1] == 'u' else base
    save('dtype_' + dt[1:], arr.astype(dt))
save('dtype_b1', base > 0)
save('i8_extremes', np.array([-(2**53), 2**53, 2**53 - 1, -3, 0], dtype='<i8'))
save('fortran_f4', np.asfortranarray(base.astype('<f4')))
save('fortran_i8', np.asfortranarray(base.astype('<i8')))
save('fortran_2d', np.asfortranarray(rng.normal(size=(9, 5)).astype('<f8')))
# numpy itself writes a (6, 1) array C-ordered (it is both); hand-write the Fortran-flagged header.
column = rng.normal(size=(6, 1)).astype('<f4')
with open(f'{out}/fortran_column.npy', 'wb') as f:
    np.lib.format.write_array_header_1_0(f, {'descr': '<f4', 'fortran_order': True, 'shape': (6, 1)})
    column.tofile(f)
expected['fortran_column'] = {'shape': [6, 1], 'values': column.astype(float).ravel().tolist()}
save('v1', base.astype('<f4'), (1, 0))
save('v2', base.astype('<f4'), (2, 0))
save('v3', base.astype('<f4'), (3, 0))
save('rows', rng.normal(size=(50, 6, 8)).astype('<f4'))
save('vector', np.arange(10, dtype='<f4') * 0.5)
save('scalar', np.array(3.25, dtype='<f8'))
save('empty', np.zeros((0, 4), dtype='<f4'))
np.save(f'{out}/too_big_i8.npy', np.array([1, 2**53 + 1], dtype='<i8'))
np.save(f'{out}/too_small_i8.npy', np.array([-(2**53) - 1], dtype='<i8'))
np.save(f'{out}/big_endian.npy', base.astype('>f4'))
np.save(f'{out}/half.npy', base.astype('<f2'))
np.save(f'{out}/structured.npy', np.zeros(3, dtype=[('a', '<f4'), ('b', '<i4')]))
json.dump(expected, open(f'{out}/expected.json', 'w'))
`;

interface Expected {
  shape: number[];
  values: number[];
}

describe('core/io/npy', function () {
  this.timeout(120_000);
  let dir: string;
  let expected: Record<string, Expected>;
  const file = (name: string) => join(dir, `${name}.npy`);
  /** Expected float32 values of rows `indices` of fixture `name`. */
  const expectedRows = (name: string, indices: number[]) => {
    const { shape, values } = expected[name];
    const rowLength = shape.slice(1).reduce((a, b) => a * b, 1);
    return indices.flatMap((r) => values.slice(r * rowLength, (r + 1) * rowLength));
  };
  const withReader = async (name: string, use: (reader: NpyReader) => unknown): Promise<void> => {
    const reader = NpyReader.open(file(name));
    try {
      await use(reader);
    } finally {
      reader.close();
    }
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-npy-'));
    runPython(MAKE_FIXTURES, [dir]);
    expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('dtypes', () => {
    for (const dtype of ['f4', 'f8', 'i8', 'i4', 'u4', 'i2', 'u2', 'i1', 'u1', 'b1']) {
      it(`reads <${dtype} as numpy's astype(float32)`, async () => {
        const name = `dtype_${dtype}`;
        await withReader(name, (reader) => {
          assert.deepEqual(reader.shape, [7, 3, 4]);
          assert.equal(reader.header.dtype.descr.slice(1), dtype);
          assert.deepEqual(Array.from(reader.readAllSync()), expected[name].values);
          assert.deepEqual(Array.from(reader.readRowsSync([6, 0, 3])), expectedRows(name, [6, 0, 3]));
        });
      });
    }

    it('reads int64 values up to 2^53 in magnitude exactly', async () => {
      await withReader('i8_extremes', (reader) => assert.deepEqual(Array.from(reader.readAllSync()), expected.i8_extremes.values));
    });

    for (const name of ['too_big_i8', 'too_small_i8']) {
      it(`rejects int64 beyond 2^53 (${name}), naming the file`, async () => {
        await withReader(name, (reader) =>
          assert.throws(
            () => reader.readAllSync(),
            (err: Error) => err.message.includes(file(name)) && /2\^53/.test(err.message),
          ),
        );
      });
    }

    it('rejects big-endian data with advice to re-save it little-endian', () => {
      assert.throws(
        () => NpyReader.open(file('big_endian')),
        (err: Error) =>
          err instanceof NpyError &&
          err.message.startsWith(file('big_endian')) &&
          /big-endian dtype '>f4'/.test(err.message) &&
          /newbyteorder/.test(err.message),
      );
    });

    it('rejects unsupported and structured dtypes by name', () => {
      assert.throws(() => NpyReader.open(file('half')), /unsupported dtype '<f2'/);
      assert.throws(() => NpyReader.open(file('structured')), /structured dtype/);
    });
  });

  describe('header versions', () => {
    for (const version of ['1', '2', '3']) {
      it(`parses a v${version}.0 header written by np.lib.format.write_array`, async () => {
        const header = readNpyHeader(file(`v${version}`));
        assert.equal(header.version, `${version}.0`);
        assert.deepEqual(header.shape, [7, 3, 4]);
        assert.equal(header.fortranOrder, false);
        await withReader(`v${version}`, (reader) => assert.deepEqual(Array.from(reader.readRowsSync([1, 5])), expectedRows(`v${version}`, [1, 5])));
      });
    }

    it('handles 1-d, 0-d and empty arrays', async () => {
      await withReader('vector', (reader) => {
        assert.deepEqual(reader.rowShape, []);
        assert.deepEqual(Array.from(reader.readRowsSync([9, 2])), [4.5, 1]);
      });
      await withReader('scalar', (reader) => {
        assert.deepEqual(reader.shape, []);
        assert.deepEqual(Array.from(reader.readAllSync()), [3.25]);
        assert.throws(() => reader.readRowsSync([0]), /0-d array has no rows/);
      });
      await withReader('empty', (reader) => {
        assert.equal(reader.rowCount, 0);
        assert.equal(reader.readRowsSync([]).length, 0);
      });
    });
  });

  describe('Fortran order', () => {
    for (const name of ['fortran_f4', 'fortran_i8', 'fortran_2d', 'fortran_column']) {
      it(`reads rows of ${name} in C order, as numpy indexes them`, async () => {
        await withReader(name, async (reader) => {
          assert.equal(reader.header.fortranOrder, true);
          const rows = [reader.rowCount - 1, 0, 2, 2];
          assert.deepEqual(Array.from(reader.readRowsSync(rows)), expectedRows(name, rows));
          assert.deepEqual(Array.from(await reader.readRows(rows)), expectedRows(name, rows));
          assert.deepEqual(Array.from(reader.readAllSync()), expected[name].values);
        });
      });
    }

    it('refuses a Fortran array over the reorder limit and suggests np.ascontiguousarray', () => {
      assert.throws(
        () => NpyReader.open(file('fortran_f4'), { fortranLimitBytes: 64 }),
        (err: Error) => err.message.startsWith(file('fortran_f4')) && /ascontiguousarray/.test(err.message) && /336 bytes/.test(err.message),
      );
    });
  });

  describe('random row access', () => {
    const picks = [3, 17, 5, 5, 49, 0, 18, 4, 16];

    it('reads a shuffled set of rows (with repeats) equal to numpy fancy indexing, sync and async', async () => {
      await withReader('rows', async (reader) => {
        assert.deepEqual(reader.rowShape, [6, 8]);
        assert.deepEqual(Array.from(reader.readRowsSync(picks)), expectedRows('rows', picks));
        assert.deepEqual(Array.from(await reader.readRows(picks)), expectedRows('rows', picks));
      });
    });

    it('coalesces adjacent rows into one read, and reads a repeated row once', async () => {
      await withReader('rows', (reader) => {
        assert.deepEqual(reader.readPlan([17, 3, 5, 4, 5, 18, 40]), [
          { firstRow: 3, rows: 3 },
          { firstRow: 17, rows: 2 },
          { firstRow: 40, rows: 1 },
        ]);
        assert.deepEqual(reader.readPlan([]), []);
      });
    });

    it('reads into a caller-owned buffer and reads ranges and row slices', async () => {
      await withReader('rows', async (reader) => {
        const out = new Float32Array(3 * 48 + 5).fill(-1);
        assert.equal(await reader.readRowRange(20, 3, out), out);
        assert.deepEqual(Array.from(out.subarray(0, 144)), expectedRows('rows', [20, 21, 22]));
        assert.deepEqual(Array.from(out.subarray(144)), [-1, -1, -1, -1, -1]);
        assert.deepEqual(Array.from(reader.readRowRangeSync(47, 3)), expectedRows('rows', [47, 48, 49]));
        assert.deepEqual(Array.from(reader.readRowSliceSync(9, 10, 4)), expectedRows('rows', [9]).slice(10, 14));
        assert.throws(() => reader.readRowsSync([1], new Float32Array(47)), /holds 47 floats/);
      });
    });

    it('rejects out-of-range rows and reads after close, naming the file', async () => {
      const reader = NpyReader.open(file('rows'));
      assert.throws(
        () => reader.readRowsSync([50]),
        (err: Error) => err.message.startsWith(file('rows')) && /row 50 is out of range \[0, 50\)/.test(err.message),
      );
      await assert.rejects(reader.readRows([-1]), /row -1 is out of range/);
      assert.throws(() => reader.readRowSliceSync(0, 45, 4), /outside a row of 48/);
      reader.close();
      assert.throws(() => reader.readRowsSync([0]), /reader is closed/);
    });
  });

  describe('reading into the output', () => {
    // 3000 rows of 6 elements: a reversed range is one file run whose 3000 rows go to 3000 separate batch slots,
    // more than one preadv may scatter to (IOV_MAX = 1024).
    const rows = 3000;
    const rowShape = [2, 3];
    const rowLength = 6;
    /** Element `e` of row `r`, as float64; thirds so that float32 rounding shows in the converting dtype. */
    const value = (r: number, e: number) => r + e / 3;
    /** Writes the rows as `<f8` by hand (the writer emits only f4, i4, u1), so the reader must convert. */
    const writeF8 = (path: string, count: number, length: number) => {
      const data = Float64Array.from({ length: count * length }, (_, k) => value(Math.floor(k / length), k % length));
      const shape = count === rows ? [count, ...rowShape] : [count, length];
      writeFileSync(path, Buffer.concat([encodeHeaderV1('<f8', shape), Buffer.from(data.buffer)]));
    };
    const expectedOf = (indices: readonly number[], convert: (v: number) => number) =>
      indices.flatMap((r) => Array.from({ length: rowLength }, (_, e) => convert(value(r, e))));
    const shuffledWithNeighbours = [2999, 5, 3, 4, 5, 1000, 6, 0, 4, 2998, 1001, 7];
    const reversed = Array.from({ length: rows }, (_, k) => rows - 1 - k);
    const batches = [shuffledWithNeighbours, reversed, [42], shuffledWithNeighbours.slice(0, 3)];

    const cases: { name: string; write: (path: string) => void; convert: (v: number) => number }[] = [
      {
        name: '<f4 (read straight into the output)',
        write: (path) =>
          writeNpy(
            path,
            Float32Array.from({ length: rows * rowLength }, (_, k) => value(Math.floor(k / rowLength), k % rowLength)),
            [rows, ...rowShape],
          ),
        convert: Math.fround,
      },
      { name: '<f8 (through a reused scratch buffer)', write: (path) => writeF8(path, rows, rowLength), convert: Math.fround },
      {
        name: '<i4 (through a reused scratch buffer)',
        write: (path) =>
          writeNpy(
            path,
            Int32Array.from({ length: rows * rowLength }, (_, k) => Math.floor(value(Math.floor(k / rowLength), k % rowLength))),
            [rows, ...rowShape],
          ),
        convert: Math.floor,
      },
    ];
    for (const { name, write, convert } of cases) {
      it(`gives every batch slot its row, neighbours in the file or not, repeats included: ${name}, sync and async`, async () => {
        const path = join(dir, `scatter_${name.slice(1, 3)}.npy`);
        write(path);
        const reader = NpyReader.open(path);
        try {
          // One buffer for every batch, as a training loop keeps it: each read must overwrite the slots it owns.
          const out = new Float32Array(rows * rowLength).fill(Number.NaN);
          for (const indices of batches) {
            const used = indices.length * rowLength;
            out.fill(Number.NaN);
            assert.equal(reader.readRowsSync(indices, out), out);
            assert.deepEqual(Array.from(out.subarray(0, used)), expectedOf(indices, convert), `sync, ${indices.length} rows`);
            assert.ok(out.subarray(used).every(Number.isNaN), 'slots past the batch are left alone');
            out.fill(Number.NaN);
            assert.equal(await reader.readRows(indices, out), out);
            assert.deepEqual(Array.from(out.subarray(0, used)), expectedOf(indices, convert), `async, ${indices.length} rows`);
          }
          const both = await Promise.all([reader.readRows(shuffledWithNeighbours), reader.readRows(reversed.slice(0, 50))]);
          assert.deepEqual(Array.from(both[0]), expectedOf(shuffledWithNeighbours, convert), 'concurrent calls on one reader');
          assert.deepEqual(Array.from(both[1]), expectedOf(reversed.slice(0, 50), convert));
        } finally {
          reader.close();
        }
      });
    }

    it('converts an array larger than one scratch buffer whole, by rows and by slices', async () => {
      // Two rows of 300,000 float64 (2.4 MB each, 4.8 MB together): over the 4 MiB scratch limit.
      const path = join(dir, 'long_f8.npy');
      const length = 300_000;
      writeF8(path, 2, length);
      const expectedRow = (r: number) => Array.from({ length }, (_, e) => Math.fround(value(r, e)));
      await withReader('long_f8', async (reader) => {
        assert.deepEqual(Array.from(reader.readAllSync()), [...expectedRow(0), ...expectedRow(1)]);
        assert.deepEqual(
          reader.readPlan([1, 0]),
          [
            { firstRow: 0, rows: 1 },
            { firstRow: 1, rows: 1 },
          ],
          'one row per scratch-sized read',
        );
        assert.deepEqual(Array.from(await reader.readRows([1, 0])), [...expectedRow(1), ...expectedRow(0)]);
        assert.deepEqual(Array.from(reader.readRowSliceSync(1, length - 10, 10)), expectedRow(1).slice(-10));
      });
    });
  });

  describe('validation', () => {
    const damaged = (name: string, damage: (path: string) => void) => {
      const path = join(dir, `damaged_${name}.npy`);
      writeFileSync(path, readFileSync(file('rows')));
      damage(path);
      return path;
    };

    it('rejects a truncated file with the expected and actual byte counts', () => {
      const path = damaged('truncated', (p) => truncateSync(p, 128 + 50 * 48 * 4 - 3));
      assert.throws(
        () => NpyReader.open(path),
        (err: Error) =>
          err.message.startsWith(path) && /truncated/.test(err.message) && /needs 9728 bytes/.test(err.message) && /has 9725 bytes/.test(err.message),
      );
    });

    it('rejects a file cut inside its header, and one with trailing bytes', () => {
      const cut = damaged('cut', (p) => truncateSync(p, 40));
      assert.throws(
        () => NpyReader.open(cut),
        (err: Error) => err.message.startsWith(cut) && /truncated inside the NPY header/.test(err.message),
      );
      const long = damaged('long', (p) => writeFileSync(p, Buffer.alloc(8), { flag: 'a' }));
      assert.throws(
        () => NpyReader.open(long),
        (err: Error) => err.message.startsWith(long) && /longer than its header says/.test(err.message) && /has 9736 bytes/.test(err.message),
      );
    });

    it('rejects corrupt magic, version and header dict, naming the file', () => {
      const magic = damaged('magic', (p) => writeFileSync(p, Buffer.concat([Buffer.from('XNUMPY'), readFileSync(p).subarray(6)])));
      assert.throws(
        () => NpyReader.open(magic),
        (err: Error) => err.message.startsWith(magic) && /not an NPY file/.test(err.message),
      );
      const version = damaged('version', (p) => {
        const bytes = readFileSync(p);
        bytes[6] = 4;
        writeFileSync(p, bytes);
      });
      assert.throws(() => NpyReader.open(version), /unsupported NPY format version 4\.0/);
      const dict = damaged('dict', (p) =>
        writeFileSync(p, readFileSync(p, 'latin1').replace("'shape': (50", "'shape': [50").replace("'descr'", "'dtype'"), 'latin1'),
      );
      assert.throws(
        () => NpyReader.open(dict),
        (err: Error) => err.message.startsWith(dict) && /corrupt NPY header/.test(err.message),
      );
      const garbage = damaged('garbage', (p) =>
        writeFileSync(p, readFileSync(p, 'latin1').replace("'fortran_order': False", "'fortran_order': Nope!"), 'latin1'),
      );
      assert.throws(() => NpyReader.open(garbage), /corrupt NPY header: expected a Python literal/);
      const tiny = join(dir, 'tiny.npy');
      writeFileSync(tiny, Buffer.from([0x93, 0x4e]));
      assert.throws(
        () => NpyReader.open(tiny),
        (err: Error) => err.message.startsWith(tiny) && /2 bytes/.test(err.message),
      );
    });

    it('checks expectShape with wildcards and names the mismatching axis', () => {
      NpyReader.open(file('rows'), { expectShape: [-1, 6, null] }).close();
      assert.throws(
        () => NpyReader.open(file('rows'), { expectShape: [-1, 36, 8] }),
        (err: Error) => err.message.startsWith(file('rows')) && /axis 1 has size 6, expected 36/.test(err.message) && /\(\*, 36, 8\)/.test(err.message),
      );
      assert.throws(() => NpyReader.open(file('rows'), { expectShape: [50, 48] }), /has 3 axes \(50, 6, 8\), expected 2 axes/);
    });
  });

  describe('writer', () => {
    it('writes v1.0 files that numpy reads back identically (f4, i4, u1)', () => {
      const f32 = Float32Array.from({ length: 24 }, (_, k) => Math.fround(k * 0.37 - 4));
      const i32 = Int32Array.from([-2147483648, -1, 0, 1, 2147483647, 123456]);
      const u8 = Uint8Array.from([0, 1, 127, 128, 255]);
      writeNpy(join(dir, 'w_f4.npy'), f32, [2, 3, 4]);
      writeNpy(join(dir, 'w_i4.npy'), i32, [6]);
      writeNpy(join(dir, 'w_u1.npy'), u8, [5, 1]);
      const seen = JSON.parse(
        runPython(
          String.raw`
import json, sys, numpy as np
res = {}
for n in ['w_f4', 'w_i4', 'w_u1']:
    path = f'{sys.argv[1]}/{n}.npy'
    with open(path, 'rb') as f:
        version = np.lib.format.read_magic(f)
    a = np.load(path)
    res[n] = {'version': list(version), 'descr': a.dtype.str, 'shape': list(a.shape), 'fortran': bool(np.isfortran(a)) and a.ndim > 1, 'values': a.astype(float).ravel().tolist()}
print(json.dumps(res))`,
          [dir],
        ),
      );
      assert.deepEqual(seen.w_f4, { version: [1, 0], descr: '<f4', shape: [2, 3, 4], fortran: false, values: Array.from(f32) });
      assert.deepEqual(seen.w_i4, { version: [1, 0], descr: '<i4', shape: [6], fortran: false, values: Array.from(i32) });
      assert.deepEqual(seen.w_u1, { version: [1, 0], descr: '|u1', shape: [5, 1], fortran: false, values: Array.from(u8) });
      assert.equal(readNpyHeader(join(dir, 'w_f4.npy')).dataOffset % 64, 0, 'data is 64-byte aligned, as numpy writes it');
    });

    it('streams chunks, and leaves nothing behind when the element count is wrong', () => {
      const path = join(dir, 'stream.npy');
      const writer = NpyStreamWriter.create(path, '<f4', [3, 2]);
      writer.append(Float32Array.from([1, 2, 3]));
      assert.equal(existsSync(path), false, 'the target appears only when finished');
      writer.append(Float32Array.from([4, 5, 6]));
      writer.finish();
      assert.deepEqual(Array.from(NpyReader.open(path).readRowsSync([2, 0])), [5, 6, 1, 2]);

      const short = NpyStreamWriter.create(join(dir, 'short.npy'), '<f4', [3, 2]);
      short.append(Float32Array.from([1, 2]));
      assert.throws(() => short.finish(), /2 elements written, shape \(3, 2\) needs 6/);
      assert.throws(() => short.append(Float32Array.from([1])), /already finished/);
      assert.throws(() => writeNpy(join(dir, 'over.npy'), new Float32Array(7), [3, 2]), /7 elements exceed shape \(3, 2\)/);
      assert.throws(() => NpyStreamWriter.create(join(dir, 'x.npy'), '<f4', [2]).append(new Int32Array(2)), /appending Int32Array to a '<f4' file/);
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.endsWith('.tmp') && !f.includes('x.npy')),
        [],
      );
      assert.equal(existsSync(join(dir, 'short.npy')) || existsSync(join(dir, 'over.npy')), false);
    });
  });
});

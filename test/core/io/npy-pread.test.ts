import { strict as assert } from 'node:assert';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NpyError } from '../../../core/io/npy/npy';
import { readFully, readFullySync } from '../../../core/io/npy/npy-pread';

describe('core/io/npy/npy-pread', () => {
  let dir: string;
  let path: string;
  let fd: number;
  const bytes = Uint8Array.from({ length: 3000 }, (_, k) => k % 251);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-pread-'));
    path = join(dir, 'data.bin');
    writeFileSync(path, bytes);
    fd = openSync(path, 'r');
  });
  after(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Views into one buffer in scrambled places, some empty; the file bytes from `position` must fill them in order. */
  const scatter = (lengths: number[]) => {
    const memory = new Uint8Array(lengths.reduce((a, b) => a + b, 0) + 8).fill(0xee);
    let at = memory.length;
    const views = lengths.map((length) => {
      at -= length;
      return memory.subarray(at, at + length);
    });
    return { memory, views };
  };
  const joined = (views: Uint8Array[]) => views.flatMap((v) => Array.from(v));

  for (const mode of ['sync', 'async'] as const) {
    const read = async (position: number, views: Uint8Array[]) =>
      mode === 'sync' ? readFullySync(path, fd, position, views) : readFully(path, fd, position, views);

    it(`scatters one file range over views in order, empty views included (${mode})`, async () => {
      const { memory, views } = scatter([5, 0, 17, 1, 0, 300]);
      await read(40, views);
      assert.deepEqual(joined(views), Array.from(bytes.subarray(40, 40 + 323)));
      assert.deepEqual(Array.from(memory.subarray(0, 8)), new Array(8).fill(0xee), 'bytes outside the views are untouched');
    });

    it(`fills more views than one preadv takes (${mode})`, async () => {
      const { views } = scatter(new Array(2500).fill(1));
      await read(100, views);
      assert.deepEqual(joined(views), Array.from(bytes.subarray(100, 2600)));
    });

    it(`reports a range past the end of the file with the file and the byte (${mode})`, async () => {
      const { views } = scatter([10, 20]);
      await assert.rejects(
        read(2990, views),
        (err: Error) => err instanceof NpyError && err.message.startsWith(path) && /unexpected end of file at byte 3000/.test(err.message),
      );
    });
  }
});

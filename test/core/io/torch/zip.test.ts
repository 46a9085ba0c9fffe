import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZipReader } from '../../../../core/io/torch';
import { runPython } from '../../../support/python-env';

describe('ZipReader', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'shnet-zip-'));
  });

  // Entries: stored, deflated, and (in the Zip64 archive) every header written with Zip64 records.
  const writeZip = (file: string, zip64: boolean) =>
    runPython(
      `import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    with z.open(zipfile.ZipInfo('arc/stored.bin'), 'w', force_zip64=${zip64 ? 'True' : 'False'}) as f:
        f.write(bytes(range(256)) * 3)
    info = zipfile.ZipInfo('arc/deflated.txt'); info.compress_type = zipfile.ZIP_DEFLATED
    with z.open(info, 'w', force_zip64=${zip64 ? 'True' : 'False'}) as f:
        f.write(b'shnet ' * 1000)
    z.comment = b'a trailing comment the reader must skip'`,
      [file],
    );

  for (const zip64 of [false, true]) {
    it(`reads stored and deflated entries and byte ranges${zip64 ? ' (Zip64 headers)' : ''}`, () => {
      const file = join(dir, `a${zip64 ? '64' : ''}.zip`);
      writeZip(file, zip64);
      const zip = ZipReader.open(file);
      try {
        assert.deepEqual([...zip.entries.keys()].sort(), ['arc/deflated.txt', 'arc/stored.bin']);
        assert.equal(zip.entries.get('arc/deflated.txt')!.method, 8);
        const stored = zip.read('arc/stored.bin');
        assert.equal(stored.length, 768);
        assert.deepEqual([...zip.readRange('arc/stored.bin', 254, 258)], [254, 255, 0, 1]);
        assert.equal(zip.read('arc/deflated.txt').toString(), 'shnet '.repeat(1000));
        assert.equal(zip.readRange('arc/deflated.txt', 6, 11).toString(), 'shnet');
        assert.throws(() => zip.readRange('arc/stored.bin', 700, 800), /outside entry 'arc\/stored\.bin'/);
        assert.throws(() => zip.read('arc/none'), /no entry 'arc\/none'/);
      } finally {
        zip.close();
      }
    });
  }

  it('reports a zip cut at its end or at its start as truncated, and a deflated entry changed after writing by its CRC-32', () => {
    const file = join(dir, 'whole.zip');
    writeZip(file, false);
    const bytes = readFileSync(file);
    const tail = join(dir, 'tail-cut.zip');
    writeFileSync(tail, bytes.subarray(0, bytes.length - 200));
    assert.throws(() => ZipReader.open(tail), /tail-cut\.zip: truncated: it starts as a zip archive but has no end-of-central-directory record/);
    const head = join(dir, 'head-cut.zip');
    writeFileSync(head, bytes.subarray(40));
    assert.throws(() => ZipReader.open(head), /head-cut\.zip: truncated: 40 bytes are missing before its zip directory/);
    // A byte of the deflated stream changed: it still inflates (or not), but never to the recorded CRC.
    const zip = ZipReader.open(file);
    const entry = zip.entries.get('arc/deflated.txt')!;
    zip.close();
    const changed = Buffer.from(bytes);
    changed[entry.localHeaderOffset + 30 + 'arc/deflated.txt'.length + 4] ^= 0x01;
    const damaged = join(dir, 'damaged.zip');
    writeFileSync(damaged, changed);
    const reader = ZipReader.open(damaged);
    try {
      assert.throws(() => reader.read('arc/deflated.txt'), /damaged\.zip: entry 'arc\/deflated\.txt' (is damaged: its CRC-32|does not inflate|inflates to)/);
      assert.equal(reader.read('arc/stored.bin').length, 768, 'the other entry is intact');
    } finally {
      reader.close();
    }
  });

  it('refuses a file that is not a zip archive, naming it', () => {
    const file = join(dir, 'legacy.pth');
    writeFileSync(file, Buffer.from('\x80\x02not a zip at all, a legacy torch pickle', 'latin1'));
    assert.throws(
      () => ZipReader.open(file),
      (e: Error) => e.message.includes(file) && /not a zip archive/.test(e.message),
    );
  });
});

import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
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

  it('refuses a file that is not a zip archive, naming it', () => {
    const file = join(dir, 'legacy.pth');
    writeFileSync(file, Buffer.from('\x80\x02not a zip at all, a legacy torch pickle', 'latin1'));
    assert.throws(
      () => ZipReader.open(file),
      (e: Error) => e.message.includes(file) && /not a zip archive/.test(e.message),
    );
  });
});

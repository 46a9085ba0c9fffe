import { strict as assert } from 'node:assert';
import { PNG } from 'pngjs';
import { decodePng, encodePng, resizeToSquare } from '../../../core/io/png';

describe('PNG files (core/io/png)', () => {
  it('encodes RGB bytes that decode to the same bytes', () => {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const png = encodePng({ width: 5, height: 3, rgb });
    assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
    const back = decodePng(png, 'x.png');
    assert.deepEqual([back.width, back.height], [5, 3]);
    assert.deepEqual(back.rgb, rgb);
    assert.throws(() => encodePng({ width: 2, height: 2, rgb: new Uint8Array(5) }), /5 bytes do not make a 2×2 RGB image/);
  });

  it('composes transparent pixels over black and names a file that is not a PNG', () => {
    const png = new PNG({ width: 1, height: 2 });
    png.data = Buffer.from([200, 100, 50, 255, 200, 100, 50, 0]);
    const back = decodePng(PNG.sync.write(png), 'alpha.png');
    assert.deepEqual([...back.rgb], [200, 100, 50, 0, 0, 0]);
    assert.throws(() => decodePng(Buffer.from('GIF89a'), 'picture.gif'), /picture\.gif: not a readable PNG file/);
  });

  it('resizes by area averaging: a k-times magnified image comes back exactly, a 2×2 block to its mean', () => {
    const small = { width: 2, height: 2, rgb: Uint8Array.from([0, 0, 0, 255, 255, 255, 51, 102, 153, 10, 20, 30]) };
    const big = new Uint8Array(8 * 8 * 3);
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++) big.set(small.rgb.subarray(3 * (2 * (y >> 2) + (x >> 2)), 3 * (2 * (y >> 2) + (x >> 2)) + 3), 3 * (8 * y + x));
    const back = resizeToSquare({ width: 8, height: 8, rgb: big }, 2);
    assert.deepEqual(
      Array.from(back, (v) => Math.round(v * 255)),
      [...small.rgb],
    );
    const mean = resizeToSquare(small, 1);
    assert.deepEqual(
      Array.from(mean, (v) => +(v * 255).toFixed(2)),
      [79, 94.25, 109.5],
    );
  });
});

/**
 * PNG files, through `pngjs` (pure JavaScript, no native build): data sets render their images with
 * {@link encodePng}, and `shnet query --image FILE` reads a picture with {@link decodePng}.
 */
import { PNG } from 'pngjs';
import { UsageError } from '../errors';

/** An 8-bit RGB picture, row-major `[height, width, 3]`. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

/** PNG bytes of an RGB picture (8-bit, no alpha). */
export function encodePng(image: RgbImage): Buffer {
  const { width, height, rgb } = image;
  if (rgb.length !== width * height * 3) throw new RangeError(`encodePng: ${rgb.length} bytes do not make a ${width}×${height} RGB image`);
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/**
 * The RGB pixels of a PNG file's bytes; a transparent pixel is composed over black. A file that is not a PNG is a
 * {@link UsageError} naming `source`.
 */
export function decodePng(bytes: Uint8Array, source: string): RgbImage {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw new UsageError(`${source}: not a readable PNG file (${error instanceof Error ? error.message : String(error)})`);
  }
  const { width, height, data } = png; // RGBA, 8 bits a channel, whatever the file's own format
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const alpha = data[4 * p + 3] / 255;
    for (let c = 0; c < 3; c++) rgb[3 * p + c] = Math.round(data[4 * p + c] * alpha);
  }
  return { width, height, rgb };
}

/**
 * `image` resized to `size × size` by area averaging (each output pixel the mean of the source pixels it covers,
 * fractions weighted), as a model trained on `size`-pixel images expects; the aspect ratio is not kept.
 * @returns `[size, size, 3]` values in [0, 1]
 */
export function resizeToSquare(image: RgbImage, size: number): Float32Array {
  const out = new Float32Array(size * size * 3);
  const sx = image.width / size;
  const sy = image.height / size;
  for (let y = 0; y < size; y++) {
    const y0 = y * sy;
    const y1 = y0 + sy;
    for (let x = 0; x < size; x++) {
      const x0 = x * sx;
      const x1 = x0 + sx;
      let weight = 0;
      const sum = [0, 0, 0];
      for (let v = Math.floor(y0); v < Math.min(image.height, Math.ceil(y1)); v++) {
        const wy = Math.min(y1, v + 1) - Math.max(y0, v);
        for (let u = Math.floor(x0); u < Math.min(image.width, Math.ceil(x1)); u++) {
          const w = wy * (Math.min(x1, u + 1) - Math.max(x0, u));
          const at = 3 * (v * image.width + u);
          for (let c = 0; c < 3; c++) sum[c] += w * image.rgb[at + c];
          weight += w;
        }
      }
      for (let c = 0; c < 3; c++) out[3 * (y * size + x) + c] = sum[c] / weight / 255;
    }
  }
  return out;
}

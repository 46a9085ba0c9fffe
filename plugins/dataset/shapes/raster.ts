/**
 * Rasterising a scene: RGB pixels, the ground-truth panoptic label map (class per pixel) and instance ids.
 * A pixel belongs to an object when its centre (x + ½, y + ½) is inside the object's outline; objects never overlap
 * (see `scene.ts`), so the label map is exact and independent of drawing order.
 */
import type { KeyedRandom } from './random';
import type { Scene } from './scene';
import { COLOURS, type ShapeName, classOf } from './vocabulary';

/** One image's planes, each a view of `size × size` pixels in row-major order. */
export interface Raster {
  /** RGB bytes `[S, S, 3]`. */
  readonly pixels: Uint8Array;
  /** Class id per pixel `[S, S]` (0 = background). */
  readonly labels: Uint8Array;
  /** Instance id per pixel `[S, S]`: 0 = background, k + 1 = object k of the scene. */
  readonly instances: Uint8Array;
}

/** Five-pointed star, apex up, outer radius 1 and inner radius 0.45, as a closed polygon. */
const STAR: readonly (readonly [number, number])[] = Array.from({ length: 10 }, (_, k) => {
  const angle = -Math.PI / 2 + (k * Math.PI) / 5;
  const r = k % 2 === 0 ? 1 : 0.45;
  return [r * Math.cos(angle), r * Math.sin(angle)] as const;
});

function insidePolygon(polygon: readonly (readonly [number, number])[], u: number, v: number): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [ui, vi] = polygon[i];
    const [uj, vj] = polygon[j];
    if (vi > v !== vj > v && u < ((uj - ui) * (v - vi)) / (vj - vi) + ui) inside = !inside;
  }
  return inside;
}

/** Whether (u, v), in units of the object's half-extent around its centre (v downwards), is inside the shape. */
export function insideShape(shape: ShapeName, u: number, v: number): boolean {
  switch (shape) {
    case 'circle':
      return u * u + v * v <= 1;
    case 'square':
      return Math.abs(u) <= 0.82 && Math.abs(v) <= 0.82;
    case 'triangle': // apex at (0, -0.95), base on v = 0.8
      return v <= 0.8 && Math.abs(u) <= (0.95 * (v + 0.95)) / 1.75;
    case 'star':
      return insidePolygon(STAR, u, v);
    case 'cross':
      return (Math.abs(u) <= 0.3 && Math.abs(v) <= 0.95) || (Math.abs(v) <= 0.3 && Math.abs(u) <= 0.95);
    case 'ring': {
      const d = u * u + v * v;
      return d <= 1 && d >= 0.25;
    }
  }
}

/**
 * Draws `scene` at `size × size` into `out`: a plain grey background (one level per image), objects in their colour
 * with a small per-object jitter, then uniform per-pixel noise of amplitude `noise` (fraction of 255).
 * `rng` is the image's own paint stream, so repainting an image gives the same bytes.
 */
export function rasterise(scene: Scene, size: number, noise: number, rng: KeyedRandom, out: Raster): void {
  // palette[3k..3k+2] is the colour of instance k (0 = background).
  const palette = new Int32Array(3 * (scene.objects.length + 1)).fill(25 + rng.int(46));
  out.labels.fill(0);
  out.instances.fill(0);
  scene.objects.forEach((object, k) => {
    COLOURS[object.colour].forEach((c, channel) => (palette[3 * (k + 1) + channel] = c - 12 + rng.int(25)));
    const classId = classOf(object.shape);
    const x0 = Math.max(0, Math.floor(object.cx - object.radius));
    const x1 = Math.min(size - 1, Math.ceil(object.cx + object.radius));
    const y0 = Math.max(0, Math.floor(object.cy - object.radius));
    const y1 = Math.min(size - 1, Math.ceil(object.cy + object.radius));
    for (let y = y0; y <= y1; y++) {
      const v = (y + 0.5 - object.cy) / object.radius;
      for (let x = x0; x <= x1; x++) {
        if (!insideShape(object.shape, (x + 0.5 - object.cx) / object.radius, v)) continue;
        out.labels[y * size + x] = classId;
        out.instances[y * size + x] = k + 1;
      }
    }
  });
  const draws = new Uint32Array(size * size);
  if (noise > 0) rng.fillUint32(draws);
  paint(out.pixels, out.instances, palette, draws, noise);
}

/**
 * Colours each pixel by its instance's palette entry plus noise: one 32-bit draw per pixel, one byte of it per
 * channel, mapped to an integer offset in [-noise·255, noise·255]. Integer arithmetic throughout: this loop is most
 * of the generation time.
 */
function paint(pixels: Uint8Array, instances: Uint8Array, palette: Int32Array, draws: Uint32Array, noise: number): void {
  const offsets = new Int32Array(256);
  for (let k = 0; k < 256; k++) offsets[k] = Math.round(((noise * 255) / 127.5) * (k - 127.5));
  for (let p = 0, q = 0; p < instances.length; p++, q += 3) {
    const base = 3 * instances[p];
    const bits = draws[p];
    const r = palette[base] + offsets[bits & 255];
    const g = palette[base + 1] + offsets[(bits >>> 8) & 255];
    const b = palette[base + 2] + offsets[(bits >>> 16) & 255];
    pixels[q] = r < 0 ? 0 : r > 255 ? 255 : r;
    pixels[q + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
    pixels[q + 2] = b < 0 ? 0 : b > 255 ? 255 : b;
  }
}

/**
 * Tight pixel box of each object, `[k, 4]` as (x0, y0, x1, y1) with x1, y1 exclusive, from the instance plane.
 * An object too small to cover any pixel centre (not possible at the sizes used) gets an empty box at its centre.
 */
export function objectBoxes(scene: Scene, instances: Uint8Array, size: number): [number, number, number, number][] {
  const boxes = scene.objects.map((): [number, number, number, number] => [size, size, 0, 0]);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const k = instances[y * size + x] - 1;
      if (k < 0) continue;
      const box = boxes[k];
      box[0] = Math.min(box[0], x);
      box[1] = Math.min(box[1], y);
      box[2] = Math.max(box[2], x + 1);
      box[3] = Math.max(box[3], y + 1);
    }
  }
  return boxes.map((box, k) => {
    if (box[2] > box[0]) return box;
    const x = Math.floor(scene.objects[k].cx);
    const y = Math.floor(scene.objects[k].cy);
    return [x, y, x, y];
  });
}

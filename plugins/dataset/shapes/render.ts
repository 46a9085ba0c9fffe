/**
 * Pictures of `shapes` images for people: the pixels magnified (nearest neighbour, so the noise and the jagged
 * outlines the model sees stay visible), and optionally the ground-truth segmentation over them — each object
 * tinted and outlined in the colour of its class — plus a text description of the scene.
 */
import { encodePng, type RenderOptions } from 'shnet';

import type { Raster } from './raster';
import type { Scene } from './scene';
import { CLASS_NAMES } from './vocabulary';

/** Overlay colour of each class id (background has none): chosen apart from the six object colours. */
export const OVERLAY_COLOURS: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [0, 230, 230], // circle: cyan
  [255, 140, 0], // square: orange
  [255, 0, 200], // triangle: magenta
  [160, 255, 0], // star: lime
  [255, 255, 255], // cross: white outline
  [0, 120, 255], // ring: azure
];

/** Side of a rendered image when no scale is asked for: about 256 pixels. */
const TARGET_SIDE = 256;
/** Share of the class colour in an overlaid pixel. */
const TINT = 0.45;

/** The magnification used for an image of `size` pixels. */
export function renderScale(size: number, options: RenderOptions = {}): number {
  const scale = options.scale ?? Math.max(1, Math.round(TARGET_SIDE / size));
  if (!Number.isInteger(scale) || scale < 1 || scale > 32) throw new RangeError(`render scale must be an integer in 1..32, got ${scale}`);
  return scale;
}

/**
 * RGB bytes `[S·k, S·k, 3]` of `raster` (side `size`) magnified k times; with `overlay`, object pixels are tinted with
 * their class colour and pixels on a class boundary are drawn in it.
 */
export function renderRaster(raster: Raster, size: number, options: RenderOptions = {}): { rgb: Uint8Array; side: number } {
  const k = renderScale(size, options);
  const side = size * k;
  const rgb = new Uint8Array(side * side * 3);
  const label = (x: number, y: number) => raster.labels[Math.floor(y / k) * size + Math.floor(x / k)];
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const source = 3 * (Math.floor(y / k) * size + Math.floor(x / k));
      const out = 3 * (y * side + x);
      for (let c = 0; c < 3; c++) rgb[out + c] = raster.pixels[source + c];
      if (!options.overlay) continue;
      const cls = label(x, y);
      const edge =
        (x > 0 && label(x - 1, y) !== cls) ||
        (x < side - 1 && label(x + 1, y) !== cls) ||
        (y > 0 && label(x, y - 1) !== cls) ||
        (y < side - 1 && label(x, y + 1) !== cls);
      // A boundary pixel takes the colour of the object side (the background side has none).
      const owner = cls !== 0 ? cls : edge ? neighbourClass(label, x, y, side) : 0;
      if (owner === 0) continue;
      const colour = OVERLAY_COLOURS[owner];
      for (let c = 0; c < 3; c++) rgb[out + c] = edge ? colour[c] : Math.round((1 - TINT) * rgb[out + c] + TINT * colour[c]);
    }
  }
  return { rgb, side };
}

function neighbourClass(label: (x: number, y: number) => number, x: number, y: number, side: number): number {
  for (const [dx, dy] of [
    [-1, 0],
    [1, 0],
    [0, -1],
    [0, 1],
  ]) {
    const u = x + dx;
    const v = y + dy;
    if (u >= 0 && u < side && v >= 0 && v < side && label(u, v) !== 0) return label(u, v);
  }
  return 0;
}

/** PNG bytes of {@link renderRaster}. */
export function renderPng(raster: Raster, size: number, options: RenderOptions = {}): Buffer {
  const { rgb, side } = renderRaster(raster, size, options);
  return encodePng({ width: side, height: side, rgb });
}

/** One line per object: "large red circle at (20, 31), radius 11 px, class circle". */
export function describeScene(scene: Scene): string[] {
  return scene.objects.map(
    (o) =>
      `${o.size} ${o.colour} ${o.shape} at (${o.cx.toFixed(0)}, ${o.cy.toFixed(0)}), radius ${o.radius.toFixed(0)} px, class ${CLASS_NAMES.indexOf(o.shape)}`,
  );
}

/**
 * Region boxes and hand-crafted region descriptors for the `precomp` path.
 *
 * The descriptors stand in for BUTD Faster R-CNN features: the data set knows no CNN, so each box gets a fixed,
 * deterministic description of its pixels — colour statistics, the shape of its foreground (non-background pixels)
 * and the box's size. Like RoI-pooled BUTD features they say what is in the box, not where the box is: the box
 * position is left out unless `regionPosition` asks for it, so spatial layout reaches the model only through the
 * segmentation inputs (or through boxes + pixels on the learned-feature path).
 *
 * Layout of the first {@link DESCRIPTOR_WIDTH} entries (the rest of the F columns are zero):
 *
 *   0–2 foreground mean RGB · 3–5 foreground RGB standard deviation · 6–8 whole-box mean RGB (all in [0, 1])
 *   9–26 foreground histogram, 6 bins per channel (R bins, then G, then B), as fractions of foreground pixels
 *   27 fill ratio (foreground / box area)
 *   28–34 normalised central moments η20 η02 η11 η30 η03 η21 η12 (×10)
 *   35–38 radial profile: foreground fraction at distance [0, ½), [½, 1), [1, 1½), [1½, ∞) equivalent radii
 *   39–46 angular profile: foreground fraction in 8 sectors around the foreground centroid
 *   47–50 box width/S, height/S, area/S², ln(width/height)
 *   51–52 box centre x/S, y/S (zero without `regionPosition`)
 */
import type { KeyedRandom } from './random';

export const DESCRIPTOR_WIDTH = 53;

const HIST_BINS = 6;
const MOMENT_ORDERS: readonly (readonly [number, number])[] = [
  [2, 0],
  [0, 2],
  [1, 1],
  [3, 0],
  [0, 3],
  [2, 1],
  [1, 2],
];

/** A pixel box (x0, y0, x1, y1), x1 and y1 exclusive. */
export type PixelBox = readonly [number, number, number, number];

/**
 * R region boxes: the objects' tight boxes first, then random background boxes (15–50 % of the side, anywhere,
 * free to overlap objects as detector proposals do) until R. All R are valid, as BUTD always gives 36.
 */
export function regionBoxes(objectBoxes: readonly PixelBox[], regions: number, size: number, rng: KeyedRandom): PixelBox[] {
  const boxes: PixelBox[] = [...objectBoxes];
  while (boxes.length < regions) {
    const w = Math.max(1, Math.round(rng.uniform(0.15, 0.5) * size));
    const h = Math.max(1, Math.round(rng.uniform(0.15, 0.5) * size));
    const x0 = rng.int(size - w + 1);
    const y0 = rng.int(size - h + 1);
    boxes.push([x0, y0, x0 + w, y0 + h]);
  }
  return boxes;
}

/**
 * Writes the descriptor of `box` (`[F]`, first {@link DESCRIPTOR_WIDTH} entries filled) into `out` at `offset`.
 * `pixels` is `[S, S, 3]` bytes, `labels` `[S, S]` class ids (foreground = class ≠ 0).
 */
export function describeRegion(
  pixels: Uint8Array,
  labels: Uint8Array,
  size: number,
  box: PixelBox,
  withPosition: boolean,
  out: Float32Array,
  offset: number,
): void {
  const [x0, y0, x1, y1] = box;
  const area = (x1 - x0) * (y1 - y0);
  out.fill(0, offset, offset + DESCRIPTOR_WIDTH);
  if (area <= 0) return;

  let count = 0;
  let sumX = 0;
  let sumY = 0;
  const boxSum = [0, 0, 0];
  const fgSum = [0, 0, 0];
  const fgSq = [0, 0, 0];
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const p = y * size + x;
      for (let c = 0; c < 3; c++) boxSum[c] += pixels[3 * p + c];
      if (labels[p] === 0) continue;
      count++;
      sumX += x + 0.5;
      sumY += y + 0.5;
      for (let c = 0; c < 3; c++) {
        const value = pixels[3 * p + c];
        fgSum[c] += value;
        fgSq[c] += value * value;
        out[offset + 9 + c * HIST_BINS + Math.floor((value * HIST_BINS) / 256)] += 1;
      }
    }
  }
  for (let c = 0; c < 3; c++) out[offset + 6 + c] = boxSum[c] / area / 255;
  const w = x1 - x0;
  const h = y1 - y0;
  out[offset + 47] = w / size;
  out[offset + 48] = h / size;
  out[offset + 49] = area / (size * size);
  out[offset + 50] = Math.log(w / h);
  if (withPosition) {
    out[offset + 51] = (x0 + x1) / 2 / size;
    out[offset + 52] = (y0 + y1) / 2 / size;
  }
  if (count === 0) return;

  for (let c = 0; c < 3; c++) {
    const mean = fgSum[c] / count;
    out[offset + c] = mean / 255;
    out[offset + 3 + c] = Math.sqrt(Math.max(0, fgSq[c] / count - mean * mean)) / 255;
  }
  for (let i = 9; i < 27; i++) out[offset + i] /= count;
  out[offset + 27] = count / area;

  const cx = sumX / count;
  const cy = sumY / count;
  const radius = Math.sqrt(count / Math.PI);
  // Central moments μ20 μ02 μ11 μ30 μ03 μ21 μ12, in MOMENT_ORDERS order.
  const moments = [0, 0, 0, 0, 0, 0, 0];
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (labels[y * size + x] === 0) continue;
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const xx = dx * dx;
      const yy = dy * dy;
      moments[0] += xx;
      moments[1] += yy;
      moments[2] += dx * dy;
      moments[3] += xx * dx;
      moments[4] += yy * dy;
      moments[5] += xx * dy;
      moments[6] += dx * yy;
      const ring = Math.min(3, Math.floor((2 * Math.sqrt(xx + yy)) / radius));
      out[offset + 35 + ring] += 1 / count;
      const sector = Math.floor(((Math.atan2(dy, dx) + Math.PI) / (2 * Math.PI)) * 8) % 8;
      out[offset + 39 + sector] += 1 / count;
    }
  }
  // η_pq = μ_pq / μ00^(1 + (p+q)/2): invariant to translation and scale, so small and large shapes look alike.
  MOMENT_ORDERS.forEach(([p, q], k) => (out[offset + 28 + k] = (10 * moments[k]) / count ** (1 + (p + q) / 2)));
}

/**
 * The three segmenter outputs of 3SHNet (docs/model.md), derived exactly from a ground-truth label map of side S:
 *
 * - class-score grid `[C, g, g]`: the fraction of each class's pixels in each grid cell. Cell (i, j) covers rows
 *   [b_i, b_{i+1}) and columns [b_j, b_{j+1}) with b_k = ⌊k·S/g⌋, so cells partition the image (at S = 64,
 *   g = 7 the bounds are 0, 9, 18, 27, 36, 45, 54, 64: six cells of 9 pixels and a last one of 10). Each cell's
 *   fractions sum to 1.
 *   This is the ideal of UPSNet's class scores pooled to 7×7.
 * - label map `[m, m]`: class ids resized to m × m by nearest neighbour on pixel centres, source index
 *   ⌊(d + ½)·S/m⌋ (the identity when S = m).
 * - category multi-hot `[C]`: 1 for every class with at least one pixel (background included when visible).
 */

/** Cell bounds b_0..b_g with b_k = ⌊k·size/grid⌋. */
export function cellBounds(size: number, grid: number): Int32Array {
  const bounds = new Int32Array(grid + 1);
  for (let k = 0; k <= grid; k++) bounds[k] = Math.floor((k * size) / grid);
  return bounds;
}

/** Writes the class-score grid `[C, g, g]` of `labels` (`[S, S]`) into `out` at `offset`. */
export function classGrid(labels: Uint8Array, size: number, numClasses: number, grid: number, out: Float32Array, offset = 0): void {
  const bounds = cellBounds(size, grid);
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < grid; i++) {
    for (let j = 0; j < grid; j++) {
      counts.fill(0);
      for (let y = bounds[i]; y < bounds[i + 1]; y++) {
        for (let x = bounds[j]; x < bounds[j + 1]; x++) counts[labels[y * size + x]]++;
      }
      const area = (bounds[i + 1] - bounds[i]) * (bounds[j + 1] - bounds[j]);
      for (let c = 0; c < numClasses; c++) out[offset + (c * grid + i) * grid + j] = counts[c] / area;
    }
  }
}

/** Writes `labels` (`[S, S]`) resized to `[m, m]` by nearest neighbour into `out` at `offset`. */
export function resizeLabels(labels: Uint8Array, size: number, mapSize: number, out: Uint8Array | Float32Array, offset = 0): void {
  for (let y = 0; y < mapSize; y++) {
    const sy = Math.floor(((y + 0.5) * size) / mapSize);
    for (let x = 0; x < mapSize; x++) {
      const sx = Math.floor(((x + 0.5) * size) / mapSize);
      out[offset + y * mapSize + x] = labels[sy * size + sx];
    }
  }
}

/** Writes the category multi-hot `[C]` of `labels` into `out` at `offset`. */
export function categories(labels: Uint8Array, numClasses: number, out: Float32Array, offset = 0): void {
  out.fill(0, offset, offset + numClasses);
  for (let p = 0; p < labels.length; p++) out[offset + labels[p]] = 1;
}

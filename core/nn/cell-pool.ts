import * as tf from '../backend/tf';

/**
 * Cell bounds b_0..b_g of a side of `size` pixels cut into `grid` cells, b_k = ⌊k·size/grid⌋: the cells partition
 * the side (at size 64, grid 7: 0, 9, 18, 27, 36, 45, 54, 64). The class-score grid of 3SHNet's segmentation
 * inputs is pooled over these cells (docs/datasets.md).
 */
export function cellBounds(size: number, grid: number): Int32Array {
  const bounds = new Int32Array(grid + 1);
  for (let k = 0; k <= grid; k++) bounds[k] = Math.floor((k * size) / grid);
  return bounds;
}

/**
 * The mean of a channels-last map over each cell of a g × g partition: sums with 0/1 cell-membership matrices,
 * then one division by the cell's area, so the mean of a 0/1 map is exactly `count / area`. Differentiable in
 * `maps`.
 *
 * @param maps `[B, m, m, C]`
 * @returns `[B, C, g, g]` (channels first: the class-score grid layout)
 */
export function cellMeanPool(maps: tf.Tensor4D, grid: number): tf.Tensor4D {
  const [b, h, w, c] = maps.shape;
  if (h !== w) throw new Error(`cellMeanPool needs a square map, got ${h}×${w}`);
  return tf.tidy(() => {
    const bounds = cellBounds(h, grid);
    const member = new Float32Array(grid * h);
    const area = new Float32Array(grid * grid);
    for (let i = 0; i < grid; i++) {
      for (let y = bounds[i]; y < bounds[i + 1]; y++) member[i * h + y] = 1;
      for (let j = 0; j < grid; j++) area[i * grid + j] = (bounds[i + 1] - bounds[i]) * (bounds[j + 1] - bounds[j]);
    }
    const rows = tf.tensor2d(member, [grid, h]);
    // Rows: [g, m] · [m, m·C] per image → [B, g, m, C]; then columns: [B·g·C, m] · [m, g] → [B, g, C, g].
    const byRows = tf.matMul(tf.tile(rows.expandDims(0), [b, 1, 1]) as tf.Tensor3D, maps.reshape([b, h, w * c]) as tf.Tensor3D).reshape([b, grid, w, c]);
    const sums = tf.matMul(byRows.transpose([0, 1, 3, 2]).reshape([b * grid * c, w]) as tf.Tensor2D, rows, false, true).reshape([b, grid, c, grid]);
    return sums.transpose([0, 2, 1, 3]).div(tf.tensor2d(area, [grid, grid])) as tf.Tensor4D;
  });
}

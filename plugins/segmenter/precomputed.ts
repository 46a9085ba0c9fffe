import {
  definePlugin,
  type ForwardMode,
  type ImageInputs,
  injectable,
  type NamedParameter,
  type Segmentation,
  type Segmenter,
  Type,
  UsageError,
  type NodeCheck,
} from 'shnet';

export const precomputedSegmenterOptions = Type.Object({}, { additionalProperties: false });

/**
 * The data set's precomputed segmentation (UPSNet arrays in the reference, docs/model.md): class-score grid, label map
 * and category multi-hot. The returned tensors are the batch's own: the engine, which owns `ImageInputs`, disposes
 * them; callers must not.
 */
@injectable()
export class PrecomputedSegmenter implements Segmenter {
  /** @returns classGrid `[B, C, g, g]`, labelMap `[B, m, m]`, categories `[B, C]` */
  segment(inputs: ImageInputs, _mode: ForwardMode): Segmentation {
    const seg = inputs.segmentation;
    if (seg == null) {
      throw new UsageError(
        'segmenter "precomputed" needs ImageInputs.segmentation (classGrid, labelMap, categories), ' +
          'but the data set supplies none; use a data set with segmentation arrays or set the segmenter slot to null',
      );
    }
    for (const field of ['classGrid', 'labelMap', 'categories'] as const) {
      if (seg[field] == null) throw new UsageError(`segmenter "precomputed": the data set's segmentation lacks '${field}'`);
    }
    return seg;
  }

  parameters(): NamedParameter[] {
    return [];
  }

  dispose(): void {}
}

/** Before anything is built: the data set must supply the segmentation this segmenter hands on. */
const checkPrecomputedSegmenter: NodeCheck = ({ path, data }) =>
  data && !data.segmentation
    ? [
        {
          path: `${path}.type`,
          message: 'segmenter "precomputed" hands on the data set\'s segmentation arrays, and this data set supplies none (use another segmenter, or null)',
        },
      ]
    : [];

export const precomputedSegmenterSpec = definePlugin({
  kind: 'segmenter',
  name: 'precomputed',
  doc: "The data set's precomputed segmentation arrays (class grid, label map, category multi-hot).",
  version: '1.0.0',
  options: precomputedSegmenterOptions,
  plugin: PrecomputedSegmenter,
  check: checkPrecomputedSegmenter,
});

/**
 * Every plugin kind shnet knows, in one place (the analogue of MMEngine's `root.py`).
 * A recipe node's kind is fixed by where it sits (see `recipe/root-slots.ts`); its `type` picks a plugin of that kind.
 */
export const PLUGIN_KINDS = [
  'dataset', // image-caption data: splits, captions, host-side image records
  'backbone', // pixels or precomputed features -> region/grid features [B, R, F]
  'segmenter', // -> class-score grid [B, C, 7, 7], label map [B, 64, 64], category multi-hot [B, C]
  'highlight', // region features + segmentation -> highlighted region features (VSeM, VSpM, ...)
  'image-encoder', // assembles backbone, segmenter, highlights and aggregator into one image embedding [B, D]
  'text-encoder', // captions -> caption embedding [B, D]
  'aggregator', // variable-length token set [B, N, D] -> one vector [B, D] (GPO, mean, max)
  'loss', // image and caption embeddings -> scalar training loss
  'optimizer', // applies gradients to named parameters, with parameter groups
  'schedule', // learning-rate multiplier as a pure function of (epoch, step)
  'evaluator', // embeddings -> retrieval metrics under a protocol
  'tracker', // where runs are recorded (MLflow server, local MLflow file store)
  'executor', // how sweep trials are run (in process, child processes, a queue)
] as const;

/** One of {@link PLUGIN_KINDS}. */
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/** True when `name` is a known plugin kind. */
export function isPluginKind(name: string): name is PluginKind {
  return (PLUGIN_KINDS as readonly string[]).includes(name);
}

/**
 * Reserved recipe keys, declared once (Hydra declares its `_target_`-style keys in one enum; so do we).
 * Everything else in a node is either an option under `args` or a child slot.
 */
export const NodeKey = {
  /** Which plugin builds this node. */
  type: 'type',
  /** The plugin's options, checked against its schema. */
  args: 'args',
  /** In a child recipe or override: keep the base node's `args` even though `type` changed. */
  merge: 'merge',
} as const;

export const RecipeKey = {
  /** One or more recipes (paths relative to this file) this recipe is merged onto, in order. */
  extends: 'extends',
  /** Plugin manifests to load before validation: relative paths or package names. */
  plugins: 'plugins',
  /** What `shnet sweep` varies (read by core/sweep/spec.ts); not part of a run's recipe, so the loader drops it. */
  sweep: 'sweep',
} as const;

/** Keys of a node that are not slots. */
export const NODE_KEYS: readonly string[] = Object.values(NodeKey);

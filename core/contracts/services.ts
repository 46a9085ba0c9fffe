/**
 * Service contracts supplied by DI (see `core/tokens.ts`). Plugins receive them with `@inject(TOKEN)`.
 */

/** A seeded random stream whose state can be saved in a checkpoint and restored exactly. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A new independent stream derived from this one's seed and `label` (stable across runs). */
  fork(label: string): Rng;
  /** Serialisable state; `restore(state())` continues the exact same sequence. */
  state(): number[];
  restore(state: readonly number[]): void;
}

/** Leveled logging to stderr (stdout stays machine-readable). */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Which TensorFlow.js backend runs. */
export interface BackendInfo {
  /** `tensorflow-gpu`, `tensorflow`, `wasm` or `cpu`. */
  readonly name: string;
  readonly threads: number;
  /** Whether the wasm binary uses WebAssembly SIMD (wasm only). */
  readonly simd?: boolean;
  /** Under `auto`: why each better backend was skipped, one `name: reason` line each. */
  readonly reason?: readonly string[];
  /** Why the backend runs on fewer threads than asked for (wasm: the threaded build could not start). */
  readonly note?: string;
}

/** Facts about the data set that the model must agree with; bound once the dataset node is built. */
export interface DataInfo {
  /** Segmentation classes C (133 for COCO panoptic). */
  readonly numClasses: number;
  /** Width F of precomputed region/grid features (2048 for BUTD), when the data set has them. */
  readonly featureDim?: number;
  /** Regions per image R (36 for BUTD), when the data set has precomputed features. */
  readonly regionsPerImage?: number;
  /** Side of the RGB images, when the data set has pixels. */
  readonly imageSize?: number;
  /** Side of the segmentation label map (64 in 3SHNet). */
  readonly mapSize: number;
  /** Side of the class-score grid (7 in 3SHNet). */
  readonly gridSize: number;
}

/** Everything about the run a plugin may need to know. */
export interface RunContext {
  /** Folder holding the run's resolved recipe, checkpoints and reports. */
  readonly runDir: string;
  /** The resolved recipe (after extends, overrides and defaults). */
  readonly recipe: Readonly<Record<string, unknown>>;
  /** sha256 of the canonical resolved recipe (without the seed written back). */
  readonly recipeHash: string;
  /** The seed actually used. */
  readonly seed: number;
  /** The plugin packages the recipe's `plugins:` list loaded, as `name@version` (the run records them). */
  readonly plugins?: readonly string[];
}

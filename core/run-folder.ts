import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * The layout of a run folder, in one place. Every run (`shnet run`, a sweep trial, a segmenter stage) writes:
 *
 * ```
 * <run>/recipe.yaml                  the resolved recipe, seed written back
 * <run>/recipe.sha256                its hash (without the seed)
 * <run>/checkpoints/best.safetensors weights with the best validation score (what eval/encode/query load)
 * <run>/checkpoints/last.safetensors weights, optimizer and RNG after the last finished epoch (what --resume loads)
 * <run>/evaluation.json              the final evaluation, validation per epoch, epoch losses
 * <run>/report.html                  `shnet report`: retrievals, failures, recall by caption type
 * <run>/index/<split>-<side>.*       search indexes over a split's embeddings (`shnet query`, `shnet serve`)
 * ```
 *
 * Commands, sweeps and plugins (a learned segmenter reading a segmenter-stage run) find these files through this
 * class, never by spelling the names themselves.
 */
export class RunFolder {
  constructor(readonly dir: string) {}

  /** The folder a new run of `name` gets under `output`: the name and the start time, so runs never collide. */
  static create(output: string, name: string, started: Date = new Date()): RunFolder {
    return new RunFolder(join(output, `${name}-${started.toISOString().replace(/[:.]/g, '-')}`));
  }

  /** The run folder a checkpoint file sits in (`RUN/checkpoints/x.safetensors`), when it has a recipe beside it. */
  static ofCheckpoint(file: string): RunFolder | null {
    const parent = dirname(file);
    if (basename(parent) !== CHECKPOINTS) return null;
    const folder = new RunFolder(dirname(parent));
    return existsSync(folder.recipe) ? folder : null;
  }

  /** Whether `dir` looks like a run folder (it has a saved recipe). */
  static isRunFolder(dir: string): boolean {
    return existsSync(dir) && statSync(dir).isDirectory() && existsSync(join(dir, RECIPE));
  }

  get recipe(): string {
    return join(this.dir, RECIPE);
  }

  get recipeHash(): string {
    return join(this.dir, 'recipe.sha256');
  }

  get checkpoints(): string {
    return join(this.dir, CHECKPOINTS);
  }

  /** The weights evaluation uses: best by validation (the latest weights when the recipe has no evaluator). */
  get best(): string {
    return join(this.checkpoints, 'best.safetensors');
  }

  /** The state a resumed run continues from. */
  get last(): string {
    return join(this.checkpoints, 'last.safetensors');
  }

  get evaluation(): string {
    return join(this.dir, 'evaluation.json');
  }

  /** The retrieval report (`shnet report`, or `evaluate.report` at the end of a run). */
  get report(): string {
    return join(this.dir, 'report.html');
  }

  /**
   * Base path (no extension) of the search index over the `side` embeddings (`images` or `captions`) of `split`;
   * `core/search/index-store.ts` adds `.json`, `.npy` and `.usearch`.
   */
  searchIndex(split: string, side: 'images' | 'captions'): string {
    return join(this.dir, 'index', `${split}-${side}`);
  }

  /** A file of the run that has no fixed role. */
  file(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Removes temporary files that an interrupted atomic write left in the checkpoints folder (a kill between write
   * and rename): they are never read, and a checkpoint-sized one is hundreds of megabytes. Returns their names.
   */
  removeStaleTemporaries(): string[] {
    if (!existsSync(this.checkpoints)) return [];
    const stale = readdirSync(this.checkpoints).filter((name) => name.endsWith('.tmp'));
    for (const name of stale) rmSync(join(this.checkpoints, name), { force: true });
    return stale;
  }
}

const RECIPE = 'recipe.yaml';
const CHECKPOINTS = 'checkpoints';

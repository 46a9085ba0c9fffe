import { createHash } from 'node:crypto';
import { UsageError } from '../errors';
import { formatProblem, RecipeError, type RecipeProblem, type SourceLocation } from '../recipe/errors';
import { loadRecipe, type LoadedRecipe } from '../recipe/load';
import { forgetLocations, locate } from '../recipe/located';
import { OVERRIDE_FILE } from '../recipe/overrides';
import { RecipeKey } from '../recipe/reserved-keys';
import { canonicalJson } from '../recipe/resolve';
import type { PluginManifest } from '../registry/plugin-spec';
import { preparedFrom, type PreparedRecipe } from '../run/prepare';
import { assignmentOverrides, expandSweep, type Assignment } from './expand';
import { readSweepFile, type SweepFile } from './spec';

/** A validated trial: its id (first 12 hex of the resolved recipe's sha256), what it sets, and its resolved recipe. */
export interface PlannedTrial {
  readonly id: string;
  readonly hash: string;
  /** 1-based position in plan order. */
  readonly index: number;
  readonly assignment: Assignment;
  /** The trial's recipe, validated: its resolved tree, and its `plugins:` (kept so a trial's recipe file loads them too). */
  readonly prepared: PreparedRecipe;
}

/** A whole sweep, every trial validated. */
export interface SweepPlan {
  readonly sweep: SweepFile;
  /** Overrides given to `shnet sweep --set`, applied to every trial before its assignment. */
  readonly overrides: readonly string[];
  /** First 12 hex of the sha256 of the trial hashes in order: the same sweep always has the same id and folder. */
  readonly id: string;
  readonly trials: readonly PlannedTrial[];
  /** Keys the sweep varies, in column order (grid, random, then `seed`). */
  readonly keys: readonly string[];
  /** Points that resolved to a recipe an earlier point already gives (the trial runs once). */
  readonly duplicates: ReadonlyArray<{ readonly index: number; readonly of: string }>;
  /** The recipe with only the `--set` overrides (no assignment): sweep-level settings (output, tracker, executor). */
  readonly base: PreparedRecipe;
}

/** Every invalid trial of a sweep, reported at once before any trial runs. Exit code 2. */
export class SweepPlanError extends UsageError {
  constructor(
    readonly failures: ReadonlyArray<{ readonly label: string; readonly problems: readonly RecipeProblem[] }>,
    total: number,
  ) {
    super(
      `${failures.length} of ${total} sweep trials are invalid (nothing was run):\n` +
        failures.map((f) => `  ${f.label}:\n${f.problems.map((p) => `    ${formatProblem(p)}`).join('\n')}`).join('\n'),
    );
  }
}

/**
 * Expands a sweep and validates every trial exactly as `shnet run FILE --set …` would, each assignment applied
 * through the overrides machinery. Problems of all trials are collected, then thrown together.
 */
export function planSweep(file: string, overrides: readonly string[], manifests: readonly PluginManifest[]): SweepPlan {
  const sweep = readSweepFile(file);
  const base = prepareTrial(sweep, overrides, {}, manifests);
  if ('problems' in base) throw new RecipeError(base.problems);
  const assignments = expandSweep(sweep.spec);
  const failures: Array<{ label: string; problems: RecipeProblem[] }> = [];
  const trials: PlannedTrial[] = [];
  const duplicates: Array<{ index: number; of: string }> = [];
  assignments.forEach((assignment, i) => {
    const prepared = prepareTrial(sweep, overrides, assignment, manifests);
    if ('problems' in prepared) {
      failures.push({ label: `trial ${i + 1}/${assignments.length} (${describeAssignment(assignment)})`, problems: prepared.problems });
      return;
    }
    const { hash } = prepared;
    const id = hash.slice(0, 12);
    if (trials.some((t) => t.hash === hash)) duplicates.push({ index: i + 1, of: id });
    else trials.push({ id, hash, index: i + 1, assignment, prepared });
  });
  if (failures.length > 0) throw new SweepPlanError(failures, assignments.length);
  const keys = [...new Set(assignments.flatMap((a) => Object.keys(a)))];
  const id = createHash('sha256')
    .update(canonicalJson(trials.map((t) => t.hash)))
    .digest('hex')
    .slice(0, 12);
  return { sweep, overrides, id, trials, keys, duplicates, base };
}

/** `key=value, key=value` as the plan table and error messages show an assignment. */
export function describeAssignment(assignment: Assignment): string {
  return Object.entries(assignment)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(', ');
}

type Prepared = PreparedRecipe | { problems: RecipeProblem[] };

/** `prepareRecipe` for one trial: the sweep section removed, override problems located at the sweep key that set them. */
function prepareTrial(sweep: SweepFile, overrides: readonly string[], assignment: Assignment, manifests: readonly PluginManifest[]): Prepared {
  const keys = Object.keys(assignment);
  const relocate = (problem: RecipeProblem): RecipeProblem => {
    const index = problem.location?.file === OVERRIDE_FILE ? problem.location.line - overrides.length - 1 : -1;
    return index >= 0 && index < keys.length ? { ...problem, location: sweepKeyLocation(sweep, keys[index]) } : problem;
  };
  let loaded: LoadedRecipe;
  try {
    loaded = loadRecipe(sweep.recipe, [...overrides, ...assignmentOverrides(assignment)]);
  } catch (error) {
    if (error instanceof RecipeError) return { problems: error.problems.map(relocate) };
    throw error;
  }
  delete loaded.data[RecipeKey.sweep];
  forgetLocations(loaded.locations, RecipeKey.sweep);
  try {
    return preparedFrom(loaded, manifests);
  } catch (error) {
    if (error instanceof RecipeError) return { problems: error.problems.map(relocate) };
    throw error;
  }
}

function sweepKeyLocation(sweep: SweepFile, key: string): SourceLocation | undefined {
  const path =
    key === 'seed' && sweep.spec.seeds.length > 0 ? 'sweep.seeds' : sweep.spec.grid.some(([k]) => k === key) ? `sweep.grid.${key}` : `sweep.random.${key}`;
  return sweep.locations.get(path) ?? locate(sweep.locations, 'sweep');
}

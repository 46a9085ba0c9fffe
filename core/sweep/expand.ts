import { createRng } from '../services/rng';
import type { Distribution, SweepSpec } from './spec';

/** One point of a sweep: dotted recipe key → value, in the sweep's key order (grid, random, then `seed`). */
export type Assignment = Readonly<Record<string, unknown>>;

/**
 * Every point of a sweep, in plan order: grid points (first key slowest) × random samples × seeds (innermost),
 * cut to `budget`. Deterministic: random key `k` draws its `i`-th sample from its own stream `fork(k)` of the
 * sweep seed, so adding a key or raising `samples` leaves the values already drawn unchanged.
 */
export function expandSweep(spec: SweepSpec): Assignment[] {
  let points: Array<Record<string, unknown>> = [{}];
  for (const [key, values] of spec.grid) points = points.flatMap((point) => values.map((value) => ({ ...point, [key]: value })));
  if (spec.random.length > 0) {
    const rng = createRng(spec.seed);
    const draws = spec.random.map(([key, distribution]) => {
      const stream = rng.fork(key);
      return [key, Array.from({ length: spec.samples }, () => draw(distribution, () => stream.next()))] as const;
    });
    points = points.flatMap((point) =>
      Array.from({ length: spec.samples }, (_, i) => ({ ...point, ...Object.fromEntries(draws.map(([key, values]) => [key, values[i]])) })),
    );
  }
  if (spec.seeds.length > 0) points = points.flatMap((point) => spec.seeds.map((seed) => ({ ...point, seed })));
  return spec.budget === undefined ? points : points.slice(0, spec.budget);
}

/** One value from `u ~ U[0, 1)`. */
function draw(distribution: Distribution, next: () => number): unknown {
  if ('choice' in distribution) return distribution.choice[Math.floor(next() * distribution.choice.length)];
  if ('int' in distribution) {
    const [low, high] = distribution.int;
    return low + Math.floor(next() * (high - low + 1));
  }
  if ('uniform' in distribution) {
    const [low, high] = distribution.uniform;
    return low + next() * (high - low);
  }
  const [low, high] = distribution.loguniform;
  return Math.exp(Math.log(low) + next() * (Math.log(high) - Math.log(low)));
}

/**
 * The `--set` strings of an assignment. Values are written as JSON, which is YAML, so the overrides machinery reads
 * back exactly the typed value the sweep file held (`512` a number, `'512'` a string, `null` switches a slot off,
 * a `{type: …}` mapping changes a plugin with the same type-change semantics as `--set`).
 */
export function assignmentOverrides(assignment: Assignment): string[] {
  return Object.entries(assignment).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
}

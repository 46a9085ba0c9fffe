import { relative } from 'node:path';
import type { SweepPlan } from './plan';

/** A value as the plan table shows it: JSON, with long floats cut to 6 significant digits. */
function show(value: unknown): string {
  if (typeof value === 'number' && !Number.isInteger(value)) return String(Number(value.toPrecision(6)));
  return value === undefined ? '' : JSON.stringify(value);
}

/** The plan `shnet sweep --dry-run` prints: a header line, then one row per trial (id and swept values). */
export function formatPlan(plan: SweepPlan): string {
  const header = ['#', 'trial', ...plan.keys];
  const rows = plan.trials.map((t) => [String(t.index), t.id, ...plan.keys.map((key) => show(t.assignment[key]))]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => row[i].length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const recipe = relative(process.cwd(), plan.sweep.recipe) || plan.sweep.recipe;
  const notes = plan.duplicates.map((d) => `point ${d.index} resolves to the same recipe as trial ${d.of}: it runs once\n`);
  return `sweep ${plan.id}: ${plan.trials.length} trials of ${recipe}\n${[header, ...rows].map(line).join('\n')}\n${notes.join('')}`;
}

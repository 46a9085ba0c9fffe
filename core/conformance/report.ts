/** The outcome of a conformance run: named checks, each passed or failed with a message. */

/** One named check of one plugin. */
export interface ConformanceCheck {
  readonly name: string;
  readonly passed: boolean;
  /** What was found: a short confirmation when passed, the reason (naming the offending parts) when failed. */
  readonly message: string;
  readonly milliseconds: number;
}

/** Every check run on one plugin, in the order they ran. */
export interface ConformanceReport {
  /** `kind/name`. */
  readonly plugin: string;
  readonly checks: readonly ConformanceCheck[];
  readonly passed: boolean;
}

/** Thrown inside a check to fail it with a message. */
export class CheckFailed extends Error {}

/** Fails the running check. */
export function fail(message: string): never {
  throw new CheckFailed(message);
}

/** Fails the running check when `problems` is not empty, listing at most five of them. */
export function failIfAny(problems: readonly string[], what = 'problem'): void {
  if (problems.length === 0) return;
  const shown = problems.slice(0, 5).join('; ');
  fail(problems.length > 5 ? `${problems.length} ${what}s: ${shown}; …` : shown);
}

/**
 * Records checks in a planned order. A check passes when its function returns (its string, if any, is the message)
 * and fails when it throws. Planned checks that never ran (the build failed) are reported as failed, so a report
 * always has the same rows for the same plugin kind.
 */
export class CheckRecorder {
  private readonly done = new Map<string, ConformanceCheck>();

  constructor(private readonly planned: readonly string[]) {}

  async check(name: string, run: () => string | void | Promise<string | void>): Promise<boolean> {
    if (!this.planned.includes(name)) throw new Error(`conformance check '${name}' is not in the plan (${this.planned.join(', ')})`);
    const start = Date.now();
    let passed = true;
    let message: string;
    try {
      message = (await run()) || 'ok';
    } catch (error) {
      passed = false;
      message = error instanceof CheckFailed ? error.message : `threw ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
    }
    this.done.set(name, { name, passed, message, milliseconds: Date.now() - start });
    return passed;
  }

  report(plugin: string, reasonForMissing: string): ConformanceReport {
    const checks = this.planned.map((name) => this.done.get(name) ?? { name, passed: false, message: `not run: ${reasonForMissing}`, milliseconds: 0 });
    return { plugin, checks, passed: checks.every((c) => c.passed) };
  }
}

/** A plain-text table of reports: one row per check, `PASS`/`FAIL`, and a summary line. */
export function formatReports(reports: readonly ConformanceReport[]): string {
  const rows = reports.flatMap((r) => r.checks.map((c) => [r.plugin, c.passed ? 'PASS' : 'FAIL', c.name, c.message]));
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i].length), ['plugin', 'result', 'check'][i].length));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell))
      .join('  ')
      .trimEnd();
  const failed = rows.filter((row) => row[1] === 'FAIL').length;
  return [
    line(['plugin', 'result', 'check', 'message']),
    ...rows.map(line),
    `${rows.length - failed} of ${rows.length} checks passed on ${reports.length} plugin${reports.length === 1 ? '' : 's'}` +
      (failed ? `; ${failed} failed` : ''),
  ].join('\n');
}

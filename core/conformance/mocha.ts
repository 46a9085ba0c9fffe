/**
 * Conformance as mocha tests, for plugin authors' own test files:
 *
 * ```ts
 * import { describeConformance } from 'shnet/conformance/mocha';
 * describeConformance(myHighlightSpec, registry);
 * ```
 *
 * One `it` per check (named as in `shnet test-plugin`'s table); the suite runs once, in a `before` hook.
 * Uses mocha's globals, so import it only from files mocha runs.
 */
import { strict as assert } from 'node:assert';
import type { PluginSpec } from '../registry/plugin-spec';
import type { PluginRegistry } from '../registry/registry';
import type { ConformanceReport } from './report';
import { plannedChecks, runConformance, type ConformanceOptions } from './run';

/** Declares `describe('<kind>/<name> conformance')` with one test per planned check. */
export function describeConformance(spec: PluginSpec, registry: PluginRegistry | (() => PluginRegistry), options: ConformanceOptions = {}): void {
  describe(`${spec.kind}/${spec.name} conformance`, function () {
    this.timeout(60_000);
    let report: ConformanceReport | null = null;
    before(async () => {
      report = await runConformance(spec, typeof registry === 'function' ? registry() : registry, options);
    });
    for (const name of plannedChecks(spec)) {
      it(name, () => {
        const check = report?.checks.find((c) => c.name === name);
        assert.ok(check, `check '${name}' did not run`);
        assert.ok(check.passed, `${spec.kind}/${spec.name}: ${name}: ${check.message}`);
      });
    }
  });
}

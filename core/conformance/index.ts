/**
 * The plugin conformance suite: every plugin of a kind gets the same contract test (timm's `test_models.py` over
 * every registered model), so a plugin is tested the moment it is registered. `runConformance` gives a report;
 * `describeConformance` (`./mocha`) turns it into mocha tests; `shnet test-plugin` prints it.
 * Sizes and conventions: `./tiny.ts`. How slots are filled: `./build.ts`.
 */
export { runConformance, plannedChecks, OPTION_CHECKS, BUILD_CHECK, type ConformanceOptions } from './run';
export { formatReports, type ConformanceCheck, type ConformanceReport } from './report';
export { CONFORMANCE_DATA_INFO, CONFORMANCE_EMBED_DIM, CONFORMANCE_LENGTHS, CONFORMANCE_CAPTIONS } from './tiny';
export { slotPlugin } from './build';

// A mocha reporter that prints the usual spec output and also writes the run's counts as JSON to the file given by
// `--reporter-option json=PATH` (used by .ci/run to print one "N passed, N failed, N skipped" line).
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');

class DualReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const path = options.reporterOption && options.reporterOption.json;
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      if (path) fs.writeFileSync(path, JSON.stringify({ stats: runner.stats }));
    });
  }
}
module.exports = DualReporter;

// Mocha settings. Locally the spec reporter; with SHNET_MOCHA_JSON set (CI), also a JSON report of the counts,
// so .ci/run can print "N passed, N failed" without parsing human-readable output. The preflight root hook stops the
// run before the first test when the machine lacks a tool the loaded tests need (test/support/preflight.ts).
const json = process.env.SHNET_MOCHA_JSON;
module.exports = {
  timeout: 60000,
  require: ['reflect-metadata', './dist/test/support/preflight.js'],
  exit: true,
  ...(json ? { reporter: 'test/support/dual-reporter.js', 'reporter-option': [`json=${json}`] } : { reporter: 'spec' }),
};

// Mocha's spec output for people, plus the run's counts in a JSON file for .ci/run
// (CI does not read mocha's summary; .ci/run prints "tests: N passed, N failed").
const fs = require('node:fs');
const Mocha = require('mocha');

class CiReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const file = process.env.ORGCONNECT_TEST_STATS;
      if (!file) return;
      const { passes, failures, pending, tests } = this.stats;
      fs.writeFileSync(file, JSON.stringify({ passes, failures, pending, tests }));
    });
  }
}
module.exports = CiReporter;

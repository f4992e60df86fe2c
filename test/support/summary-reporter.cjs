// Prints the closing line CI reads: "N passed, N failed". Under CI=true a skipped test fails the run.
class SummaryReporter {
  constructor() {
    this.error = undefined;
  }
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    let failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    if (process.env.CI === 'true' && skipped > 0) {
      this.error = new Error(`CI=true forbids skipped tests: ${skipped} skipped`);
      process.stdout.write(`\n${this.error.message}\n`);
      failed += skipped;
    }
    process.stdout.write(
      `\n${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`,
    );
  }
  getLastError() {
    return this.error;
  }
}
module.exports = SummaryReporter;

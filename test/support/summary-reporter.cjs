// Prints the closing line CI reads: "N passed, N failed" (skips count as failures under CI=true).
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + (results.numRuntimeErrorTestSuites > 0 ? results.numRuntimeErrorTestSuites : 0);
    if (process.env.CI === 'true' && skipped > 0) {
      process.stdout.write(`\nCI=true forbids skipped tests: ${skipped} skipped\n`);
    }
    process.stdout.write(`\n${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}
module.exports = SummaryReporter;

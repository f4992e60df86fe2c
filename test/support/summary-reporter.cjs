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
    // Where CI's time goes (it aims at 20 minutes on two cores): the slowest files, before the last line.
    const slowest = results.testResults
      .map((r) => ({ file: r.testFilePath, ms: r.perfStats.end - r.perfStats.start }))
      .filter((r) => Number.isFinite(r.ms) && r.ms > 0)
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 12);
    if (slowest.length > 1) {
      const root = `${process.cwd()}/`;
      process.stdout.write(`\nslowest test files:\n`);
      for (const r of slowest)
        process.stdout.write(`  ${(r.ms / 1000).toFixed(0).padStart(5)} s  ${r.file.replace(root, '')}\n`);
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

import { writeSync } from "node:fs"
import type { Reporter, TestModule } from "vitest/node"

/**
 * Ends the run with one plain line, `N passed, N failed, N skipped`, that any CI log reader understands
 * whatever test runner it knows.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    let passed = 0
    let failed = 0
    let skipped = 0
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === "passed") passed++
        else if (state === "failed") failed++
        else skipped++
      }
      // A file that failed to load has no tests to count; it still fails the run.
      if (module.state() === "failed" && [...module.children.allTests()].length === 0) failed++
    }
    // Written at exit so that it is the run's last line, after the default reporter's summary.
    process.once("exit", () => writeSync(1, `${passed} passed, ${failed} failed, ${skipped} skipped\n`))
  }
}

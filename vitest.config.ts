import { defineConfig } from "vitest/config"

// The projects are listed in vitest.workspace.ts; this file only sets what applies to the whole run.
export default defineConfig({
  test: {
    reporters: ["default", "./scripts/summary-reporter.ts"],
    // Suites run real servers and databases on a 2-core machine; 5 s flakes under load, a hang still fails.
    testTimeout: 30_000,
  },
})

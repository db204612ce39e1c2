import { defineConfig } from "vitest/config"

// The projects are listed in vitest.workspace.ts; this file only sets what applies to the whole run.
export default defineConfig({
  test: {
    reporters: ["default", "./scripts/summary-reporter.ts"],
  },
})

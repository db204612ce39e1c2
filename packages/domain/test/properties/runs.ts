/** Runs per property: at least 500 in CI (the bar); fewer locally unless PROPERTY_RUNS says otherwise. */
export const propertyRuns = Number(process.env.PROPERTY_RUNS ?? (process.env.CI === "true" ? 500 : 150))

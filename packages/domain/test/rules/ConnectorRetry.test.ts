import { ConnectorRetry } from "@chat4all/domain"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"

const { retryDelay, schedule, settle } = ConnectorRetry
const s = 1000
const min = 60 * s

describe("ConnectorRetry", () => {
  it("waits about 1 s, 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then gives up", () => {
    expect(schedule).toEqual([s, 5 * s, 30 * s, 2 * min, 10 * min, 30 * min, 60 * min])
    expect(ConnectorRetry.maxAttempts).toBe(8)
    const middle = { scale: 1, random: 0.5 }
    expect(schedule.map((_, i) => retryDelay(i + 1, middle))).toEqual(schedule)
    expect(retryDelay(8, middle)).toBeUndefined()
    expect(retryDelay(1, { scale: 0.001, random: 0.5 })).toBe(1)
  })

  it("jitters each wait within 20% either way, and never waits less than the provider asked", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0.0001, max: 10, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 3_600_000 }), { nil: undefined }),
        (failures, random, scale, retryAfterMs) => {
          const base = schedule[failures - 1]! * scale
          const wait = retryDelay(failures, { scale, random, retryAfterMs })!
          expect(wait).toBeGreaterThanOrEqual(Math.max(Math.floor(base * 0.8), retryAfterMs ?? 0))
          expect(wait).toBeLessThanOrEqual(Math.max(Math.ceil(base * 1.2), retryAfterMs ?? 0))
        },
      ),
    )
  })

  it("settles a send: succeeded; failed at once when not retryable; retried until the last attempt", () => {
    const at = { now: 10_000, scale: 1, random: 0.5 }
    expect(settle({ _tag: "Sent" }, { ...at, failuresBefore: 2 })).toEqual({
      status: "succeeded",
      failures: 2,
    })
    expect(
      settle(
        { _tag: "Failed", retryable: false, detail: "whatsapp: rejected (HTTP 400)" },
        { ...at, failuresBefore: 0 },
      ),
    ).toEqual({ status: "failed", failures: 1, error: "whatsapp: rejected (HTTP 400)" })
    expect(
      settle({ _tag: "Failed", retryable: true, detail: "HTTP 503" }, { ...at, failuresBefore: 0 }),
    ).toEqual({
      status: "pending",
      failures: 1,
      nextAttemptAt: 11_000,
      error: "HTTP 503",
    })
    expect(
      settle(
        { _tag: "Failed", retryable: true, retryAfterMs: 42_000, detail: "429" },
        { ...at, failuresBefore: 1 },
      ),
    ).toMatchObject({ status: "pending", failures: 2, nextAttemptAt: 52_000 })
    // Eight attempts in all: the failure of the eighth is final.
    expect(
      settle({ _tag: "Failed", retryable: true, detail: "HTTP 503" }, { ...at, failuresBefore: 7 }),
    ).toEqual({ status: "failed", failures: 8, error: "HTTP 503 (gave up after 8 attempts)" })
  })
})

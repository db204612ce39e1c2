import { Webhook, WebhookRetry } from "@chat4all/domain"
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import * as fc from "fast-check"

const { matches, retryDelay, schedule, settle, verdict } = WebhookRetry
const s = 1000
const min = 60 * s
const h = 60 * min

describe("WebhookRetry", () => {
  it("waits about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then gives up", () => {
    expect(schedule).toEqual([5 * s, 5 * min, 30 * min, 2 * h, 5 * h, 10 * h, 10 * h])
    expect(WebhookRetry.maxAttempts).toBe(8)
    // random 0.5 is the middle of the jitter: the schedule itself.
    expect(schedule.map((_, i) => retryDelay(i + 1, 1, 0.5))).toEqual(schedule)
    expect(retryDelay(8, 1, 0.5)).toBeUndefined()
    expect(retryDelay(1, 0.001, 0.5)).toBe(5)
    expect(retryDelay(2, 0.001, 0.5)).toBe(300)
  })

  it("jitters each wait within 20% either way, scaled", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0.0001, max: 10, noNaN: true }),
        (failures, random, scale) => {
          const base = schedule[failures - 1]! * scale
          const wait = retryDelay(failures, scale, random)!
          expect(wait).toBeGreaterThanOrEqual(Math.floor(base * 0.8))
          expect(wait).toBeLessThanOrEqual(Math.ceil(base * 1.2))
        },
      ),
    )
  })

  it("reads 2xx as delivered, 410 as gone, and anything else (3xx too) or no answer as a retry", () => {
    for (const code of [200, 201, 204, 299])
      expect(verdict({ _tag: "Answered", statusCode: code })).toBe("delivered")
    expect(verdict({ _tag: "Answered", statusCode: 410 })).toBe("gone")
    for (const code of [100, 301, 302, 307, 400, 404, 429, 500, 503])
      expect(verdict({ _tag: "Answered", statusCode: code })).toBe("retry")
    expect(verdict({ _tag: "NoAnswer", error: "timed out after 15 s" })).toBe("retry")
  })

  it("settles an attempt: done, retried at the scheduled time, failed after the 8th, disabled on 410", () => {
    const now = 1_700_000_000_000
    const options = (failuresBefore: number) => ({ failuresBefore, now, scale: 1, random: 0.5 })
    expect(settle({ _tag: "Answered", statusCode: 200 }, options(3))).toEqual({
      status: "succeeded",
      failures: 3,
    })
    expect(settle({ _tag: "Answered", statusCode: 500 }, options(0))).toEqual({
      status: "pending",
      failures: 1,
      nextAttemptAt: now + 5 * s,
    })
    expect(settle({ _tag: "NoAnswer", error: "ECONNREFUSED" }, options(6))).toEqual({
      status: "pending",
      failures: 7,
      nextAttemptAt: now + 10 * h,
    })
    expect(settle({ _tag: "Answered", statusCode: 500 }, options(7))).toEqual({
      status: "failed",
      failures: 8,
    })
    const gone = settle({ _tag: "Answered", statusCode: 410 }, options(0))
    expect(gone.status).toBe("failed")
    expect(gone.status === "failed" && gone.disable?.reason).toMatch(/410 Gone/)
  })

  it("matches an event type against a filter, `*` matching every type", () => {
    expect(matches(["*"], "receipt.read")).toBe(true)
    expect(matches(["message.created"], "message.created")).toBe(true)
    expect(matches(["message.created", "member.added"], "member.added")).toBe(true)
    expect(matches(["message.created"], "message.status")).toBe(false)
  })
})

describe("Webhook model", () => {
  const decodeSecret = Schema.decodeUnknownEither(Webhook.WebhookSecret)
  const decodeFilter = Schema.decodeUnknownEither(Webhook.EventFilter)

  it("accepts secrets of whsec_ and the base64 of 24 to 64 bytes, nothing else", () => {
    const b64 = (n: number) => Buffer.alloc(n, 7).toString("base64")
    for (const n of [24, 32, 64]) expect(Either.isRight(decodeSecret(`whsec_${b64(n)}`))).toBe(true)
    for (const bad of [
      b64(32),
      `whsec_${b64(23)}`,
      `whsec_${b64(65)}`,
      "whsec_",
      "whsec_not base64!",
      `sk_${b64(32)}`,
    ])
      expect(Either.isLeft(decodeSecret(bad)), bad).toBe(true)
  })

  it("takes event types and `*` in a filter, at least one", () => {
    expect(Either.isRight(decodeFilter(["message.created", "receipt.read"]))).toBe(true)
    expect(Either.isRight(decodeFilter(["*"]))).toBe(true)
    expect(Either.isLeft(decodeFilter([]))).toBe(true)
    expect(Either.isLeft(decodeFilter(["message.deleted"]))).toBe(true)
  })
})

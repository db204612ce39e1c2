import { type Delivery, DeliveryState } from "@chat4all/domain"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { numRuns, permutationOf, propertyTimeout } from "./support.js"

type Status = Delivery.DeliveryStatus

const statuses: ReadonlyArray<Status> = ["pending", "sent", "failed", "delivered", "read"]
const status = fc.constantFrom(...statuses)
const updates = fc.array(status, { minLength: 1, maxLength: 24 })

/** Applies updates the way a store does: a stale or repeated update leaves the record as it is. */
const applyAll = (sequence: ReadonlyArray<Status>, start?: Status): Status | undefined =>
  sequence.reduce<Status | undefined>(
    (current, update) => DeliveryState.advance(current, update) ?? current,
    start,
  )

/** Every status the record holds along the way, starting from the first applied update. */
const trace = (sequence: ReadonlyArray<Status>): Array<Status> => {
  const out: Array<Status> = []
  let current: Status | undefined
  for (const update of sequence) {
    current = DeliveryState.advance(current, update) ?? current
    if (current !== undefined) out.push(current)
  }
  return out
}

describe("DeliveryState", () => {
  it("ranks pending < sent < failed < delivered < read", () => {
    const ranked = [...statuses].sort((a, b) => DeliveryState.rank[a] - DeliveryState.rank[b])
    expect(ranked).toEqual(["pending", "sent", "failed", "delivered", "read"])
    expect(new Set(Object.values(DeliveryState.rank)).size).toBe(statuses.length)
  })

  describe("advance", () => {
    it("applies any first update", () => {
      for (const s of statuses) expect(DeliveryState.advance(undefined, s)).toBe(s)
    })

    it.each([
      ["pending", "sent", "sent"],
      ["sent", "delivered", "delivered"],
      ["sent", "failed", "failed"],
      ["pending", "failed", "failed"],
      ["failed", "delivered", "delivered"],
      ["failed", "read", "read"],
      ["delivered", "read", "read"],
      ["sent", "read", "read"],
    ] as const)("moves %s -> %s", (from, update, expected) => {
      expect(DeliveryState.advance(from, update)).toBe(expected)
    })

    it.each([
      ["delivered", "failed"],
      ["read", "failed"],
      ["read", "delivered"],
      ["delivered", "sent"],
      ["failed", "sent"],
      ["failed", "pending"],
      ["sent", "pending"],
    ] as const)("ignores %s <- %s (stale)", (from, update) => {
      expect(DeliveryState.advance(from, update)).toBeUndefined()
    })

    it("ignores a repeat of the current status", () => {
      for (const s of statuses) expect(DeliveryState.advance(s, s)).toBeUndefined()
    })
  })

  describe("properties", { timeout: propertyTimeout }, () => {
    it("the final status does not depend on the order updates arrive in, and is their max", () => {
      fc.assert(
        fc.property(
          updates.chain((seq) => fc.tuple(fc.constant(seq), permutationOf(seq))),
          ([sequence, permuted]) => {
            const final = applyAll(sequence)
            expect(applyAll(permuted)).toBe(final)
            expect(final).toBe(sequence.reduce(DeliveryState.max))
          },
        ),
        { numRuns },
      )
    })

    it("never moves a status backwards", () => {
      fc.assert(
        fc.property(updates, (sequence) => {
          const steps = trace(sequence)
          for (let i = 1; i < steps.length; i++)
            expect(DeliveryState.rank[steps[i]!]).toBeGreaterThanOrEqual(DeliveryState.rank[steps[i - 1]!])
        }),
        { numRuns },
      )
      fc.assert(
        fc.property(status, status, (current, update) => {
          const next = DeliveryState.advance(current, update)
          if (next !== undefined) {
            expect(next).toBe(update)
            expect(DeliveryState.rank[next]).toBeGreaterThan(DeliveryState.rank[current])
          } else expect(DeliveryState.rank[update]).toBeLessThanOrEqual(DeliveryState.rank[current])
        }),
        { numRuns },
      )
    })

    it("failed never overrides delivered or read, whenever either arrived", () => {
      fc.assert(
        fc.property(
          updates,
          fc.constantFrom<Status>("delivered", "read"),
          fc.nat(),
          (sequence, proof, at) => {
            const withProof = [...sequence]
            withProof.splice(at % (sequence.length + 1), 0, proof)
            const steps = trace(withProof)
            const firstProof = steps.findIndex((s) => s === "delivered" || s === "read")
            expect(firstProof).toBeGreaterThanOrEqual(0)
            for (const s of steps.slice(firstProof)) expect(["delivered", "read"]).toContain(s)
          },
        ),
        { numRuns },
      )
    })

    it("applying the same update twice is the same as applying it once", () => {
      fc.assert(
        fc.property(fc.option(status, { nil: undefined }), status, (current, update) => {
          const once = DeliveryState.advance(current, update) ?? current
          expect(DeliveryState.advance(once, update)).toBeUndefined()
        }),
        { numRuns },
      )
    })

    it("max and min are commutative, associative and idempotent, and agree with rank", () => {
      fc.assert(
        fc.property(status, status, status, (a, b, c) => {
          const { max, min, rank } = DeliveryState
          expect(max(a, b)).toBe(max(b, a))
          expect(min(a, b)).toBe(min(b, a))
          expect(max(max(a, b), c)).toBe(max(a, max(b, c)))
          expect(min(min(a, b), c)).toBe(min(a, min(b, c)))
          expect(max(a, a)).toBe(a)
          expect(min(a, a)).toBe(a)
          expect(rank[max(a, b)]).toBe(Math.max(rank[a], rank[b]))
          expect(rank[min(a, b)]).toBe(Math.min(rank[a], rank[b]))
        }),
        { numRuns },
      )
    })
  })
})

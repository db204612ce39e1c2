import { Horizons, type Member } from "@chat4all/domain"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { member, numRuns, permutationOf, propertyTimeout } from "./support.js"

type Receipt = { readonly kind: Horizons.ReceiptKind; readonly seq: number }

const receipt: fc.Arbitrary<Receipt> = fc.record({
  kind: fc.constantFrom<Horizons.ReceiptKind>("delivered", "read"),
  seq: fc.nat({ max: 50 }),
})
const receipts = fc.array(receipt, { maxLength: 20 })
/** A well-formed member: read implies delivered, so `readSeq <= deliveredSeq`. */
const startingMember = fc
  .tuple(fc.nat({ max: 30 }), fc.nat({ max: 30 }))
  .map(([a, b]) => member("bob", { readSeq: Math.min(a, b), deliveredSeq: Math.max(a, b) }))

const applyAll = (start: Member.Member, sequence: ReadonlyArray<Receipt>) =>
  sequence.reduce((m, r) => Horizons.advanceHorizon(m, r.kind, r.seq) ?? m, start)

const horizons = (m: Member.Member) => ({ readSeq: m.readSeq, deliveredSeq: m.deliveredSeq })

describe("Horizons.advanceHorizon", () => {
  it("a delivered receipt moves only the delivered horizon", () => {
    const next = Horizons.advanceHorizon(member("bob", { readSeq: 2, deliveredSeq: 3 }), "delivered", 7)
    expect(next && horizons(next)).toEqual({ readSeq: 2, deliveredSeq: 7 })
  })

  it("a read receipt moves both horizons: reading implies delivery", () => {
    const next = Horizons.advanceHorizon(member("bob", { readSeq: 2, deliveredSeq: 3 }), "read", 9)
    expect(next && horizons(next)).toEqual({ readSeq: 9, deliveredSeq: 9 })
  })

  it("a read receipt below the delivered horizon moves only the read horizon", () => {
    const next = Horizons.advanceHorizon(member("bob", { readSeq: 2, deliveredSeq: 8 }), "read", 5)
    expect(next && horizons(next)).toEqual({ readSeq: 5, deliveredSeq: 8 })
  })

  it("answers undefined when nothing moves (lower or equal seq)", () => {
    const bob = member("bob", { readSeq: 4, deliveredSeq: 6 })
    expect(Horizons.advanceHorizon(bob, "delivered", 6)).toBeUndefined()
    expect(Horizons.advanceHorizon(bob, "delivered", 1)).toBeUndefined()
    expect(Horizons.advanceHorizon(bob, "read", 4)).toBeUndefined()
    expect(Horizons.advanceHorizon(bob, "read", 0)).toBeUndefined()
  })

  it("keeps everything but the horizons", () => {
    const bob = member("bob", {}, "admin")
    const next = Horizons.advanceHorizon(bob, "read", 3)
    expect(next).toMatchObject({ userId: bob.userId, role: "admin", joinedAt: bob.joinedAt })
    expect(bob.readSeq).toBe(0) // the input is not mutated
  })

  describe("properties", { timeout: propertyTimeout }, () => {
    it("each horizon is the monotonic max of the seqs acknowledged for it", () => {
      fc.assert(
        fc.property(startingMember, receipts, (start, sequence) => {
          const final = applyAll(start, sequence)
          expect(final.deliveredSeq).toBe(Math.max(start.deliveredSeq, ...sequence.map((r) => r.seq)))
          expect(final.readSeq).toBe(
            Math.max(start.readSeq, ...sequence.filter((r) => r.kind === "read").map((r) => r.seq)),
          )
        }),
        { numRuns },
      )
    })

    it("horizons never move backwards, and read never passes delivered", () => {
      fc.assert(
        fc.property(startingMember, receipts, (start, sequence) => {
          let current = start
          for (const r of sequence) {
            const next = Horizons.advanceHorizon(current, r.kind, r.seq)
            if (next === undefined) continue
            expect(next.deliveredSeq).toBeGreaterThanOrEqual(current.deliveredSeq)
            expect(next.readSeq).toBeGreaterThanOrEqual(current.readSeq)
            expect(next.readSeq).toBeLessThanOrEqual(next.deliveredSeq)
            expect(horizons(next)).not.toEqual(horizons(current)) // defined means something moved
            current = next
          }
        }),
        { numRuns },
      )
    })

    it("undefined exactly when the receipt is at or below the horizons it would move", () => {
      fc.assert(
        fc.property(startingMember, receipt, (start, r) => {
          const stale = r.seq <= start.deliveredSeq && (r.kind === "delivered" || r.seq <= start.readSeq)
          expect(Horizons.advanceHorizon(start, r.kind, r.seq) === undefined).toBe(stale)
        }),
        { numRuns },
      )
    })

    it("the result does not depend on the order receipts arrive in", () => {
      fc.assert(
        fc.property(
          startingMember,
          receipts.chain((seq) => fc.tuple(fc.constant(seq), permutationOf(seq))),
          (start, [sequence, permuted]) => {
            expect(horizons(applyAll(start, permuted))).toEqual(horizons(applyAll(start, sequence)))
          },
        ),
        { numRuns },
      )
    })
  })
})

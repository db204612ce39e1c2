import { Event, type Ids } from "@chat4all/domain"
import { Fixtures, TestIdGenerator } from "@chat4all/domain/testing"
import { Effect } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type Released, TenantSequencer } from "../../src/ws/Sequencer.js"

const tenant = "t1" as Ids.TenantId
const base = Effect.runSync(
  Fixtures.newConversation(tenant, "group", [Fixtures.user("ann")]).pipe(
    Effect.map(({ event }) => event as Event.Event),
    Effect.provide(TestIdGenerator.layer),
  ),
)
const at = (position: number): Event.Event => Event.withPosition(base, position)
const positions = (out: ReadonlyArray<Released>) => out.map((r) => r.event.position)

const options = { reorderWindowMs: 100, giveUpMs: 1_000, maxHeld: 1_000 }

describe("TenantSequencer", () => {
  it("holds events until started, then lets out only those after the start, in order", () => {
    const s = new TenantSequencer(options)
    expect(s.offer(at(6), 0)).toEqual([])
    expect(s.offer(at(4), 0)).toEqual([])
    const out = s.start(4, 0)
    expect(positions(out)).toEqual([])
    expect(positions(s.offer(at(5), 1))).toEqual([5, 6])
    expect(s.cursor).toBe("6")
  })

  it("puts out-of-order events back in order and drops repeats", () => {
    const s = new TenantSequencer(options)
    s.start(0, 0)
    expect(positions(s.offer(at(2), 0))).toEqual([])
    expect(positions(s.offer(at(3), 0))).toEqual([])
    const out = s.offer(at(1), 0)
    expect(positions(out)).toEqual([1, 2, 3])
    expect(out.map((r) => r.cursor)).toEqual(["1", "2", "3"])
    expect(s.offer(at(2), 0)).toEqual([])
    expect(s.offer(at(1), 0)).toEqual([])
  })

  it("lets held events out after the window with the watermark as cursor, and the late one after", () => {
    const s = new TenantSequencer(options)
    s.start(10, 0)
    s.offer(at(12), 0)
    s.offer(at(13), 0)
    expect(s.tick(50).released).toEqual([])
    const flushed = s.tick(100).released
    expect(positions(flushed)).toEqual([12, 13])
    // The gap at 11 is still open: resuming from here must not skip it.
    expect(flushed.map((r) => r.cursor)).toEqual(["10", "10"])
    const late = s.offer(at(11), 200)
    expect(positions(late)).toEqual([11])
    // With 11 in, everything up to 13 is out: the cursor jumps there.
    expect(late[0]?.cursor).toBe("13")
    expect(s.offer(at(13), 300)).toEqual([])
    expect(positions(s.offer(at(14), 300))).toEqual([14])
  })

  it("gives up on a position missing for too long, yet still lets it out if it comes", () => {
    const s = new TenantSequencer(options)
    s.start(0, 0)
    s.offer(at(2), 0)
    s.tick(100)
    const { lost } = s.tick(1_200)
    expect(lost).toBe(1)
    expect(s.cursor).toBe("2")
    expect(positions(s.offer(at(3), 1_300))).toEqual([3])
    const late = s.offer(at(1), 1_400)
    expect(positions(late)).toEqual([1])
    expect(s.offer(at(1), 1_500)).toEqual([])
  })

  it("passes events without a position straight through", () => {
    const s = new TenantSequencer(options)
    expect(s.offer(base, 0)).toEqual([{ event: base, cursor: undefined }])
  })

  it("releases every position exactly once, and a cursor never claims a position not yet released", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 150 })), {
          maxLength: 120,
        }),
        (start, arrivals) => {
          const s = new TenantSequencer(options)
          let now = 0
          const released: Array<number> = []
          const check = (out: ReadonlyArray<Released>) => {
            for (const r of out) {
              released.push(r.event.position!)
              const cursor = Number(r.cursor)
              // Everything the cursor covers (above the start) has been released.
              for (let p = start + 1; p <= cursor; p++)
                if (!released.includes(p)) throw new Error(`cursor ${cursor} before ${p} was released`)
            }
          }
          check(s.start(start, now))
          for (const [position, delay] of arrivals) {
            now += delay
            check(s.tick(now).released)
            check(s.offer(at(start + position), now))
          }
          check(s.tick(now + 10_000).released)
          expect(new Set(released).size).toBe(released.length)
          const arrived = new Set(arrivals.map(([p]) => start + p))
          expect(new Set(released)).toEqual(arrived)
        },
      ),
    )
  })

  it("keeps order whenever nothing waits longer than the window", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 30 }), (raw) => {
        const unique = [...new Set(raw)]
        const n = unique.length
        // A permutation of 1..n (with repeats of some), all arriving at the same instant.
        const order = unique.map((_, i) => unique.indexOf(unique[i]!) + 1)
        const shuffled = [...order].sort((a, b) => (raw.indexOf(a) % 7) - (raw.indexOf(b) % 7))
        const s = new TenantSequencer(options)
        s.start(0, 0)
        const out: Array<number> = []
        for (const p of [...shuffled, ...shuffled.slice(0, 3)])
          out.push(...positions(s.offer(at(p), 0)).map(Number))
        expect(out).toEqual(Array.from({ length: n }, (_, i) => i + 1))
      }),
    )
  })
})

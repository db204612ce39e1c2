import { Delivery, DeliveryState, type Member, MessageStatus } from "@chat4all/domain"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { member, messageId, numRuns, permutationOf, propertyTimeout, user } from "./support.js"

type Status = Delivery.DeliveryStatus

const record = (userId: string, channel: string, status: Status, updatedAt = 1) =>
  new Delivery.DeliveryRecord({ messageId: messageId(1), userId: user(userId), channel, status, updatedAt })

/** Message seq 5 from alice. */
const msg = { seq: 5, senderId: user("alice") }

describe("MessageStatus", () => {
  describe("appStatus", () => {
    it("derives the app channel from the horizons", () => {
      expect(MessageStatus.appStatus(member("bob"), 5)).toBe("sent")
      expect(MessageStatus.appStatus(member("bob", { deliveredSeq: 4 }), 5)).toBe("sent")
      expect(MessageStatus.appStatus(member("bob", { deliveredSeq: 5 }), 5)).toBe("delivered")
      expect(MessageStatus.appStatus(member("bob", { readSeq: 2, deliveredSeq: 9 }), 5)).toBe("delivered")
      expect(MessageStatus.appStatus(member("bob", { readSeq: 5 }), 5)).toBe("read")
      expect(MessageStatus.appStatus(member("bob", { readSeq: 9 }), 5)).toBe("read")
    })
  })

  describe("recipients", () => {
    it("lists the app channel of every other member and every connector record, never the sender", () => {
      const rows = MessageStatus.recipients(
        msg,
        [member("alice", { readSeq: 9 }), member("bob", { deliveredSeq: 5 }), member("carol")],
        [record("alice", "whatsapp", "read"), record("bob", "whatsapp", "failed", 42)],
      )
      expect(rows).toEqual([
        { userId: "bob", channel: "app", status: "delivered", updatedAt: undefined },
        { userId: "carol", channel: "app", status: "sent", updatedAt: undefined },
        { userId: "bob", channel: "whatsapp", status: "failed", updatedAt: 42 },
      ])
    })
  })

  describe("aggregate", () => {
    it("is sent when there is no recipient", () => {
      expect(MessageStatus.aggregate(msg, [], [])).toBe("sent")
      expect(MessageStatus.aggregate(msg, [member("alice", { readSeq: 9 })], [])).toBe("sent")
      expect(MessageStatus.aggregate(msg, [member("alice")], [record("alice", "telegram", "read")])).toBe(
        "sent",
      )
    })

    it("is as far as the least advanced recipient", () => {
      const members = [member("alice"), member("bob", { readSeq: 5 }), member("carol", { deliveredSeq: 7 })]
      expect(MessageStatus.aggregate(msg, members, [])).toBe("delivered")
      expect(MessageStatus.aggregate(msg, [...members, member("dave")], [])).toBe("sent")
    })

    it("counts each recipient with its best channel", () => {
      const members = [member("alice"), member("bob"), member("carol", { readSeq: 5 })]
      // bob has not opened the app but read it on WhatsApp
      expect(MessageStatus.aggregate(msg, members, [record("bob", "whatsapp", "read")])).toBe("read")
      // a failed connector does not hide a delivery on the app
      expect(
        MessageStatus.aggregate(
          msg,
          [member("alice"), member("bob", { deliveredSeq: 5 })],
          [record("bob", "whatsapp", "failed")],
        ),
      ).toBe("delivered")
      // but with nothing better, the failure is what the sender sees
      expect(
        MessageStatus.aggregate(msg, [member("alice"), member("bob")], [record("bob", "whatsapp", "failed")]),
      ).toBe("failed")
    })

    it("ignores the sender's own horizons and records", () => {
      const members = [member("alice"), member("bob", { deliveredSeq: 5 })]
      expect(MessageStatus.aggregate(msg, members, [record("alice", "whatsapp", "pending")])).toBe(
        "delivered",
      )
    })
  })

  describe("aggregate properties", { timeout: propertyTimeout }, () => {
    const names = ["alice", "bob", "carol", "dave", "erin"] as const
    const status = fc.constantFrom<Status>("pending", "sent", "failed", "delivered", "read")
    const world = fc.record({
      sender: fc.constantFrom(...names),
      seq: fc.integer({ min: 1, max: 10 }),
      members: fc.uniqueArray(
        fc.record({
          name: fc.constantFrom(...names),
          a: fc.nat({ max: 12 }),
          b: fc.nat({ max: 12 }),
        }),
        { selector: (m) => m.name, maxLength: names.length },
      ),
      records: fc.array(
        fc.record({
          name: fc.constantFrom(...names),
          channel: fc.constantFrom("whatsapp", "telegram", "instagram"),
          status,
        }),
        { maxLength: 8 },
      ),
    })
    const build = (w: typeof world extends fc.Arbitrary<infer T> ? T : never) => ({
      message: { seq: w.seq, senderId: user(w.sender) },
      members: w.members.map((m) =>
        member(m.name, { readSeq: Math.min(m.a, m.b), deliveredSeq: Math.max(m.a, m.b) }),
      ),
      records: w.records.map((r) => record(r.name, r.channel, r.status)),
    })

    /** The rule, spelled out: per recipient the best of its channels, then the worst recipient. */
    const oracle = (
      message: { seq: number; senderId: string },
      members: ReadonlyArray<Member.Member>,
      records: ReadonlyArray<Delivery.DeliveryRecord>,
    ): Status => {
      const byUser = new Map<string, Array<Status>>()
      const add = (u: string, s: Status) => byUser.set(u, [...(byUser.get(u) ?? []), s])
      for (const m of members) {
        if (m.userId === message.senderId) continue
        add(
          m.userId,
          m.readSeq >= message.seq ? "read" : m.deliveredSeq >= message.seq ? "delivered" : "sent",
        )
      }
      for (const r of records) if (r.userId !== message.senderId) add(r.userId, r.status)
      if (byUser.size === 0) return "sent"
      const rank = DeliveryState.rank
      const best = [...byUser.values()].map((ss) => ss.reduce((a, b) => (rank[b] > rank[a] ? b : a)))
      return best.reduce((a, b) => (rank[b] < rank[a] ? b : a))
    }

    it("is the min over recipients of their best channel (sent when none)", () => {
      fc.assert(
        fc.property(world, (w) => {
          const { message, members, records } = build(w)
          expect(MessageStatus.aggregate(message, members, records)).toBe(oracle(message, members, records))
        }),
        { numRuns },
      )
    })

    it("the sender never counts: changing the sender's horizons or records changes nothing", () => {
      fc.assert(
        fc.property(
          world,
          fc.nat({ max: 12 }),
          fc.array(status, { maxLength: 3 }),
          (w, senderSeq, senderStatuses) => {
            const { message, members, records } = build(w)
            const before = MessageStatus.aggregate(message, members, records)
            const others = members.filter((m) => m.userId !== message.senderId)
            const changedMembers = [
              ...others,
              member(w.sender, { readSeq: senderSeq, deliveredSeq: senderSeq }),
            ]
            const changedRecords = [
              ...records,
              ...senderStatuses.map((s, i) => record(w.sender, `ch${i}`, s)),
            ]
            expect(MessageStatus.aggregate(message, changedMembers, changedRecords)).toBe(before)
            expect(
              MessageStatus.aggregate(
                message,
                others,
                records.filter((r) => r.userId !== message.senderId),
              ),
            ).toBe(before)
          },
        ),
        { numRuns },
      )
    })

    it("does not depend on the order of members and records", () => {
      fc.assert(
        fc.property(
          world.chain((w) => fc.tuple(fc.constant(w), permutationOf(w.members), permutationOf(w.records))),
          ([w, members, records]) => {
            const a = build(w)
            const b = build({ ...w, members, records })
            expect(MessageStatus.aggregate(b.message, b.members, b.records)).toBe(
              MessageStatus.aggregate(a.message, a.members, a.records),
            )
          },
        ),
        { numRuns },
      )
    })

    it("never goes down when a recipient's channel moves forward", () => {
      fc.assert(
        fc.property(world, fc.nat(), status, (w, which, update) => {
          fc.pre(w.records.length > 0)
          const { message, members, records } = build(w)
          const i = which % records.length
          const moved = records.map((r, j) =>
            j === i ? record(r.userId, r.channel, DeliveryState.max(r.status, update)) : r,
          )
          const rank = DeliveryState.rank
          expect(rank[MessageStatus.aggregate(message, members, moved)]).toBeGreaterThanOrEqual(
            rank[MessageStatus.aggregate(message, members, records)],
          )
        }),
        { numRuns },
      )
    })
  })
})

import type { Message } from "@chat4all/domain"
import { DeliveryState } from "@chat4all/domain"
import type { Either } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type Harness, makeHarness } from "./ConversationHarness.js"
import { propertyRuns } from "./runs.js"

/**
 * Races: fast-check's scheduler decides the order in which concurrent callers reach the actor, and the
 * outcome must hold for every order it picks (and shrink to a minimal one when it does not).
 */

const members = ["ann", "bob", "cid"]
const channels = ["whatsapp", "telegram"] as const
const statuses = ["pending", "sent", "delivered", "read", "failed"] as const

const sendOp = fc.record({
  sender: fc.constantFrom(...members, "mallory"),
  cmid: fc.constantFrom("k0", "k1", "k2", "k3"),
  text: fc.constantFrom("one", "two"),
})

/** Releases every call through the scheduler, all in flight at once, and waits for all of them. */
const race = async <A, B>(s: fc.Scheduler, ops: ReadonlyArray<A>, call: (op: A) => Promise<B>) => {
  const results = ops.map((op, i) => s.schedule(Promise.resolve(op), `op ${i}`).then(call))
  await s.waitAll()
  return Promise.all(results)
}

describe("conversation actor under races", () => {
  it(`sends and their retries from several senders: one gapless order, one message per key (${propertyRuns} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(sendOp, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 16 }),
        async (s, ops, maxBatch) => {
          const h = await makeHarness(members, maxBatch)
          try {
            const results = await race(s, ops, (op) => h.send(op.sender, op.cmid, op.text))
            const messages = await h.messages()
            expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1))
            const byKey = new Map(messages.map((m) => [`${m.senderId}/${m.clientMessageId}`, m]))
            expect(byKey.size).toBe(messages.length)
            const memberKeys = new Set(
              ops.filter((o) => o.sender !== "mallory").map((o) => `${o.sender}/${o.cmid}`),
            )
            expect(new Set(byKey.keys())).toEqual(memberKeys)
            const fresh = new Map<string, number>()
            ops.forEach((op, i) => {
              const result = results[i]!
              if (op.sender === "mallory") {
                expect(result._tag === "Left" && result.left._tag).toBe("NotAMember")
                return
              }
              const k = `${op.sender}/${op.cmid}`
              const stored = byKey.get(k)!
              const winner = stored.content.type === "text" ? stored.content.text : undefined
              if (op.text !== winner) {
                // Lost the race with another payload for the same key: a conflict, never a second message.
                expect(result._tag === "Left" && result.left._tag).toBe("IdempotencyConflict")
                return
              }
              if (result._tag === "Left") throw new Error(`unexpected ${result.left._tag}`)
              // Every replay is the original, field for field.
              const { status: _s1, ...answered } = result.right.message
              const { status: _s2, ...original } = stored
              expect(answered).toEqual(original)
              if (!result.right.replayed) fresh.set(k, (fresh.get(k) ?? 0) + 1)
            })
            for (const k of memberKeys) expect(fresh.get(k)).toBe(1)
          } finally {
            await h.dispose()
          }
        },
      ),
      { numRuns: propertyRuns },
    )
  }, 300_000)

  it(`receipts and status callbacks in any order: the same final state, nothing backwards (${propertyRuns} runs)`, async () => {
    const receipt = fc.record({
      kind: fc.constant("receipt" as const),
      user: fc.constantFrom(...members),
      type: fc.constantFrom("delivered" as const, "read" as const),
      seq: fc.integer({ min: 0, max: 4 }),
    })
    const update = fc.record({
      kind: fc.constant("update" as const),
      message: fc.integer({ min: 0, max: 3 }),
      user: fc.constantFrom(...members, "outsider"),
      channel: fc.constantFrom(...channels),
      status: fc.constantFrom(...statuses),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.oneof(receipt, update), { minLength: 1, maxLength: 40 }),
        async (s, ops) => {
          const h: Harness = await makeHarness(members)
          try {
            // Four messages from alternating senders, then everything else at once in the scheduler's order.
            const sent: Array<Message.Message> = []
            for (let i = 0; i < 4; i++) {
              const r = await h.send(members[i % 2]!, `m${i}`, `text ${i}`)
              if (r._tag === "Left") throw new Error(r.left._tag)
              sent.push(r.right.message)
            }
            const results = await race(
              s,
              ops,
              (op): Promise<Either.Either<unknown, { _tag: string }>> =>
                op.kind === "receipt"
                  ? h.receipt(op.user, op.type, op.seq)
                  : h.delivery(sent[op.message]!.id, op.user, op.channel, op.status),
            )
            // The expected final state is a fold with max: it has no notion of order.
            const horizons = new Map(members.map((u) => [u, { delivered: 0, read: 0 }]))
            const expected = new Map<string, (typeof statuses)[number]>()
            ops.forEach((op, i) => {
              const result = results[i]!
              if (op.kind === "receipt") {
                expect(result._tag).toBe("Right")
                const h = horizons.get(op.user)!
                h.delivered = Math.max(h.delivered, op.seq)
                if (op.type === "read") h.read = Math.max(h.read, op.seq)
                return
              }
              const message = sent[op.message]!
              if (message.senderId === op.user) {
                expect(result._tag === "Left" && result.left._tag).toBe("InvalidRequest")
                return
              }
              expect(result._tag).toBe("Right")
              const k = `${message.id}/${op.user}/${op.channel}`
              expected.set(k, DeliveryState.max(expected.get(k) ?? op.status, op.status))
            })
            const conversation = await h.conversation()
            for (const m of conversation.members) {
              const want = horizons.get(m.userId)!
              expect([m.userId, m.deliveredSeq, m.readSeq]).toEqual([m.userId, want.delivered, want.read])
            }
            const actual = new Map<string, string>()
            for (const message of sent) {
              for (const r of await h.deliveries(message.id))
                actual.set(`${message.id}/${r.userId}/${r.channel}`, r.status)
              const history = await h.history(message.id)
              const last = new Map<string, number>()
              for (const t of history.slice(1)) {
                const k = `${t.userId}/${t.channel}`
                expect(DeliveryState.rank[t.status]).toBeGreaterThan(last.get(k) ?? -1)
                last.set(k, DeliveryState.rank[t.status])
              }
            }
            expect(actual).toEqual(expected)
          } finally {
            await h.dispose()
          }
        },
      ),
      { numRuns: propertyRuns },
    )
  }, 300_000)
})

import {
  type Content,
  ConversationCommand,
  ConversationDecider,
  type Delivery,
  type Errors,
  type Event,
  Message,
} from "@chat4all/domain"
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as fc from "fast-check"
import {
  cmid,
  conversation,
  eventId,
  message,
  messageId,
  numRuns,
  propertyTimeout,
  text,
  user,
} from "./support.js"

const { decide, decideBatch, evolve, initialState, needs } = ConversationDecider
type State = ConversationDecider.ConversationState
type Command = ConversationCommand.ConversationCommand

const stamp = (n: number) => ({ eventId: eventId(n), at: 1_000 + n })

const draft = (
  sender: string,
  clientMessageId: string,
  content: Content.Content = text("hi"),
  extra: Partial<Pick<Message.MessageDraft, "channels" | "metadata" | "replyTo">> = {},
) =>
  new Message.MessageDraft({
    senderId: user(sender),
    clientMessageId: cmid(clientMessageId),
    content,
    channels: extra.channels ?? ["all"],
    metadata: extra.metadata ?? {},
    ...(extra.replyTo === undefined ? {} : { replyTo: extra.replyTo }),
  })

/** A Send whose message id and stamp are numbered `n`. */
const send = (n: number, sender: string, clientMessageId: string, body = "hi", extra = {}) =>
  ConversationCommand.ConversationCommand.Send({
    draft: draft(sender, clientMessageId, text(body), extra),
    messageId: messageId(n),
    stamp: stamp(n),
  })
const receipt = (n: number, userId: string, kind: "delivered" | "read", seq: number) =>
  ConversationCommand.ConversationCommand.Receipt({ userId: user(userId), kind, seq, stamp: stamp(n) })
const deliveryUpdate = (
  n: number,
  target: number,
  userId: string,
  channel: string,
  status: Delivery.DeliveryStatus,
  detail?: string,
) =>
  ConversationCommand.ConversationCommand.DeliveryUpdate({
    messageId: messageId(target),
    userId: user(userId),
    channel,
    status,
    detail,
    stamp: stamp(n),
  })
const addMember = (n: number, userId: string, role: "owner" | "admin" | "member" = "member") =>
  ConversationCommand.ConversationCommand.AddMember({ userId: user(userId), role, stamp: stamp(n) })
const removeMember = (n: number, userId: string) =>
  ConversationCommand.ConversationCommand.RemoveMember({ userId: user(userId), stamp: stamp(n) })

const group = (lastSeq = 0) => initialState(conversation("group", ["alice", "bob", "carol"], lastSeq))
const direct = () => initialState(conversation("direct", ["alice", "bob"]))

const ok = (outcome: Either.Either<ConversationDecider.Decision, Errors.CommandError>) => {
  if (Either.isLeft(outcome)) throw new Error(`expected a decision, got ${outcome.left._tag}`)
  return outcome.right
}
const error = (outcome: Either.Either<unknown, Errors.CommandError>) => {
  if (Either.isRight(outcome)) throw new Error("expected an error")
  return { ...outcome.left }
}
const apply = (state: State, events: ReadonlyArray<Event.Event>) => events.reduce(evolve, state)
/** Decides and applies, as one-command batches; throws on a rejected command. */
const run = (state: State, ...commands: ReadonlyArray<Command>) =>
  commands.reduce((s, c) => apply(s, ok(decide(s, c)).events), state)

/** Outcomes as plain data, so that two runs can be compared. */
const plain = (outcomes: ReadonlyArray<Either.Either<unknown, Errors.CommandError>>) =>
  outcomes.map((o) => (Either.isLeft(o) ? { left: { ...o.left } } : { right: o.right }))

describe("ConversationDecider", () => {
  describe("Send", () => {
    it("a member's send becomes message.created with the next seq, as sent", () => {
      const state = group(4)
      const decision = ok(decide(state, send(1, "alice", "c1", "hello", { metadata: { k: 1 } })))
      expect(decision.events).toHaveLength(1)
      const event = decision.events[0]!
      expect(event).toMatchObject({
        type: "message.created",
        id: eventId(1),
        at: 1_001,
        tenantId: state.conversation.tenantId,
        conversationId: state.conversation.id,
      })
      const created = (event as Event.MessageCreated).data.message
      expect(created).toMatchObject({
        id: messageId(1),
        seq: 5,
        senderId: "alice",
        clientMessageId: "c1",
        content: { type: "text", text: "hello" },
        channels: ["all"],
        metadata: { k: 1 },
        createdAt: 1_001,
        status: "sent",
      })
      expect(created).not.toHaveProperty("replyTo")
      expect(decision.result).toEqual({ _tag: "Sent", message: created, replayed: false })
    })

    it("evolve records the message: lastSeq, updatedAt, and both indexes", () => {
      const state = run(group(), send(1, "alice", "c1"))
      expect(state.conversation.lastSeq).toBe(1)
      expect(state.conversation.updatedAt).toBe(1_001)
      const stored = state.byId.get(messageId(1))
      expect(stored?.seq).toBe(1)
      expect(state.byKey.get(ConversationDecider.idempotencyKey(user("alice"), cmid("c1")))).toBe(stored)
      expect(group().byId.size).toBe(0) // evolve never mutates the state it is given
    })

    it("a non-member cannot send", () => {
      expect(error(decide(group(), send(1, "mallory", "c1")))).toMatchObject({
        _tag: "NotAMember",
        userId: "mallory",
        conversationId: group().conversation.id,
      })
    })

    it("assigns gapless seqs across a batch, and a rejected send uses none", () => {
      const batch = decideBatch(group(10), [
        send(1, "alice", "a1"),
        send(2, "mallory", "m1"),
        send(3, "bob", "b1"),
        send(4, "carol", "c1"),
      ])
      expect(batch.outcomes.map((o) => (Either.isLeft(o) ? o.left._tag : o.right._tag))).toEqual([
        "Sent",
        "NotAMember",
        "Sent",
        "Sent",
      ])
      expect(batch.events.map((e) => (e as Event.MessageCreated).data.message.seq)).toEqual([11, 12, 13])
      expect(batch.state.conversation.lastSeq).toBe(13)
    })

    it("the same key and payload is a replay: the original message, no event", () => {
      const state = run(
        group(),
        send(1, "alice", "c1", "hello", { metadata: { a: 1, b: 2 } }),
        send(2, "bob", "x"),
      )
      // metadata key order does not make a different payload
      const retry = ok(decide(state, send(3, "alice", "c1", "hello", { metadata: { b: 2, a: 1 } })))
      expect(retry.events).toEqual([])
      expect(retry.result).toEqual({ _tag: "Sent", message: state.byId.get(messageId(1)), replayed: true })
    })

    it("the same key with another payload is a conflict naming the original", () => {
      const state = run(group(), send(1, "alice", "c1", "hello"))
      for (const other of [
        send(2, "alice", "c1", "hello!"),
        send(2, "alice", "c1", "hello", { channels: ["whatsapp"] }),
        send(2, "alice", "c1", "hello", { metadata: { k: "v" } }),
        send(2, "alice", "c1", "hello", { replyTo: messageId(7) }),
      ])
        expect(error(decide(state, other))).toMatchObject({
          _tag: "IdempotencyConflict",
          clientMessageId: "c1",
          originalMessageId: messageId(1),
        })
    })

    it("the idempotency key is per sender", () => {
      const state = run(group(), send(1, "alice", "c1", "hello"))
      const other = ok(decide(state, send(2, "bob", "c1", "hello")))
      expect(other.result).toMatchObject({
        _tag: "Sent",
        replayed: false,
        message: { seq: 2, senderId: "bob" },
      })
    })

    it("replays and conflicts inside one batch, against a send earlier in the same batch", () => {
      const batch = decideBatch(group(), [
        send(1, "alice", "c1", "hello"),
        send(2, "alice", "c1", "hello"),
        send(3, "alice", "c1", "bye"),
      ])
      expect(plain(batch.outcomes)).toMatchObject([
        { right: { _tag: "Sent", replayed: false, message: { id: messageId(1), seq: 1 } } },
        { right: { _tag: "Sent", replayed: true, message: { id: messageId(1), seq: 1 } } },
        { left: { _tag: "IdempotencyConflict", originalMessageId: messageId(1) } },
      ])
      expect(batch.events).toHaveLength(1)
    })
  })

  describe("Receipt", () => {
    const withMessages = () =>
      run(group(), send(1, "alice", "c1"), send(2, "alice", "c2"), send(3, "alice", "c3"))

    it("moves the member's horizons and emits receipt.read / receipt.delivered", () => {
      const state = withMessages()
      const delivered = ok(decide(state, receipt(10, "bob", "delivered", 2)))
      expect(delivered.events.map((e) => [e.type, e.data])).toEqual([
        ["receipt.delivered", { userId: "bob", seq: 2 }],
      ])
      expect(delivered.result).toMatchObject({
        _tag: "ReceiptRecorded",
        changed: true,
        member: { deliveredSeq: 2, readSeq: 0 },
      })
      const after = apply(state, delivered.events)
      expect(after.conversation.member(user("bob"))).toMatchObject({ deliveredSeq: 2, readSeq: 0 })

      const read = ok(decide(after, receipt(11, "bob", "read", 3)))
      expect(read.events.map((e) => [e.type, e.data])).toEqual([["receipt.read", { userId: "bob", seq: 3 }]])
      expect(apply(after, read.events).conversation.member(user("bob"))).toMatchObject({
        deliveredSeq: 3,
        readSeq: 3,
      })
    })

    it("a receipt that moves nothing answers changed: false with no event", () => {
      const state = run(withMessages(), receipt(10, "bob", "read", 3))
      const again = ok(decide(state, receipt(11, "bob", "delivered", 2)))
      expect(again.events).toEqual([])
      expect(again.result).toMatchObject({ _tag: "ReceiptRecorded", changed: false, member: { readSeq: 3 } })
    })

    it("rejects a seq beyond lastSeq, negative, or not an integer", () => {
      const state = withMessages()
      for (const seq of [4, 100, -1, 1.5, Number.NaN])
        expect(error(decide(state, receipt(10, "bob", "read", seq)))).toMatchObject({
          _tag: "InvalidRequest",
          field: "seq",
        })
      expect(ok(decide(state, receipt(10, "bob", "read", 3))).events).toHaveLength(1)
      expect(ok(decide(state, receipt(10, "bob", "read", 0))).events).toHaveLength(0)
    })

    it("sees the seqs of sends earlier in the same batch", () => {
      const batch = decideBatch(group(), [
        send(1, "alice", "c1"),
        receipt(2, "bob", "read", 1),
        receipt(3, "bob", "read", 2),
      ])
      expect(plain(batch.outcomes)).toMatchObject([
        { right: { _tag: "Sent" } },
        { right: { _tag: "ReceiptRecorded", changed: true } },
        { left: { _tag: "InvalidRequest", field: "seq" } },
      ])
    })

    it("rejects a non-member", () => {
      expect(error(decide(withMessages(), receipt(10, "mallory", "read", 1)))).toMatchObject({
        _tag: "NotAMember",
        userId: "mallory",
      })
    })
  })

  describe("DeliveryUpdate", () => {
    const withMessage = () => run(group(), send(1, "alice", "c1"))

    it("applies a first update, emits message.status, and evolve stores the record", () => {
      const state = withMessage()
      const decision = ok(decide(state, deliveryUpdate(5, 1, "bob", "whatsapp", "delivered", "ok")))
      expect(decision.result).toMatchObject({
        _tag: "DeliveryRecorded",
        applied: true,
        record: {
          messageId: messageId(1),
          userId: "bob",
          channel: "whatsapp",
          status: "delivered",
          updatedAt: 1_005,
        },
      })
      expect(decision.events.map((e) => [e.type, e.data])).toEqual([
        [
          "message.status",
          {
            messageId: messageId(1),
            seq: 1,
            status: "delivered",
            userId: "bob",
            channel: "whatsapp",
            detail: "ok",
          },
        ],
      ])
      const after = apply(state, decision.events)
      expect(
        after.deliveries.get(ConversationDecider.deliveryKey(messageId(1), user("bob"), "whatsapp")),
      ).toMatchObject({
        status: "delivered",
      })
    })

    it("ignores stale updates and failed after delivered, with no event", () => {
      const state = run(withMessage(), deliveryUpdate(5, 1, "bob", "whatsapp", "delivered"))
      for (const status of ["failed", "sent", "pending", "delivered"] as const) {
        const decision = ok(decide(state, deliveryUpdate(6, 1, "bob", "whatsapp", status)))
        expect(decision.events).toEqual([])
        expect(decision.result).toMatchObject({
          applied: false,
          record: { status: "delivered", updatedAt: 1_005 },
        })
      }
      const read = ok(decide(state, deliveryUpdate(7, 1, "bob", "whatsapp", "read")))
      expect(read.result).toMatchObject({ applied: true, record: { status: "read" } })
    })

    it("keeps channels and recipients apart", () => {
      const state = run(withMessage(), deliveryUpdate(5, 1, "bob", "whatsapp", "read"))
      expect(ok(decide(state, deliveryUpdate(6, 1, "bob", "telegram", "sent"))).result).toMatchObject({
        applied: true,
      })
      expect(ok(decide(state, deliveryUpdate(6, 1, "carol", "whatsapp", "sent"))).result).toMatchObject({
        applied: true,
      })
    })

    it("rejects an unknown message, the app channel, and the sender as recipient", () => {
      const state = withMessage()
      expect(error(decide(state, deliveryUpdate(5, 99, "bob", "whatsapp", "sent")))).toMatchObject({
        _tag: "MessageNotFound",
        messageId: messageId(99),
      })
      expect(error(decide(state, deliveryUpdate(5, 1, "bob", "app", "delivered")))).toMatchObject({
        _tag: "InvalidRequest",
        field: "channel",
      })
      expect(error(decide(state, deliveryUpdate(5, 1, "alice", "whatsapp", "sent")))).toMatchObject({
        _tag: "InvalidRequest",
        field: "userId",
      })
    })

    it("rejects a message of another conversation", () => {
      const foreign = new Message.Message({
        ...message("alice", { id: 42 }),
        conversationId: "conv-2" as never,
      })
      const state = { ...group(), byId: new Map([[foreign.id, foreign]]) }
      expect(error(decide(state, deliveryUpdate(5, 42, "bob", "whatsapp", "sent")))).toMatchObject({
        _tag: "MessageNotFound",
      })
    })
  })

  describe("membership", () => {
    it("adds a member to a group with horizons at lastSeq, who may then send", () => {
      const state = run(group(), send(1, "alice", "c1"), send(2, "alice", "c2"))
      const added = ok(decide(state, addMember(3, "dave", "admin")))
      expect(added.result).toMatchObject({
        _tag: "MemberAdded",
        added: true,
        member: { userId: "dave", role: "admin", joinedAt: 1_003, readSeq: 2, deliveredSeq: 2 },
      })
      expect(added.events.map((e) => [e.type, e.data])).toEqual([
        ["member.added", { userId: "dave", role: "admin" }],
      ])
      const after = apply(state, added.events)
      expect(after.conversation.member(user("dave"))).toEqual(
        (added.result as { member: unknown }).member, // decide and evolve agree
      )
      expect(after.conversation.updatedAt).toBe(1_003)
      expect(ok(decide(after, send(4, "dave", "d1"))).result).toMatchObject({ message: { seq: 3 } })
    })

    it("adding an existing member changes nothing", () => {
      const decision = ok(decide(group(), addMember(1, "bob", "owner")))
      expect(decision.events).toEqual([])
      expect(decision.result).toMatchObject({ added: false, member: { userId: "bob", role: "member" } })
    })

    it("removes a member of a group, who then can no longer send", () => {
      const batch = decideBatch(group(), [
        removeMember(1, "bob"),
        send(2, "bob", "b1"),
        removeMember(3, "bob"),
      ])
      expect(plain(batch.outcomes)).toMatchObject([
        { right: { _tag: "MemberRemoved", userId: "bob", removed: true } },
        { left: { _tag: "NotAMember", userId: "bob" } },
        { right: { _tag: "MemberRemoved", removed: false } },
      ])
      expect(batch.events.map((e) => e.type)).toEqual(["member.removed"])
      expect(batch.state.conversation.members.map((m) => m.userId)).toEqual(["alice", "carol"])
    })

    it("a direct conversation refuses to add or remove members", () => {
      expect(error(decide(direct(), addMember(1, "carol")))).toMatchObject({
        _tag: "InvalidRequest",
        field: "userId",
      })
      expect(error(decide(direct(), removeMember(1, "bob")))).toMatchObject({
        _tag: "InvalidRequest",
        field: "userId",
      })
      // idempotent no-ops stay no-ops
      expect(ok(decide(direct(), addMember(1, "bob"))).result).toMatchObject({ added: false })
      expect(ok(decide(direct(), removeMember(1, "carol"))).result).toMatchObject({ removed: false })
    })
  })

  describe("needs", () => {
    it("asks for the idempotency keys of sends and the messages and records of delivery updates only", () => {
      expect(
        needs([
          send(1, "alice", "c1"),
          receipt(2, "bob", "read", 1),
          deliveryUpdate(3, 7, "bob", "whatsapp", "sent"),
          addMember(4, "dave"),
          removeMember(5, "carol"),
          send(6, "bob", "c2"),
          deliveryUpdate(7, 8, "carol", "telegram", "read"),
        ]),
      ).toEqual({
        keys: [
          { senderId: "alice", clientMessageId: "c1" },
          { senderId: "bob", clientMessageId: "c2" },
        ],
        messageIds: [messageId(7), messageId(8)],
        deliveries: [
          { messageId: messageId(7), userId: "bob", channel: "whatsapp" },
          { messageId: messageId(8), userId: "carol", channel: "telegram" },
        ],
      })
      expect(needs([])).toEqual({ keys: [], messageIds: [], deliveries: [] })
    })
  })

  describe("properties", { timeout: propertyTimeout }, () => {
    const users = ["alice", "bob", "carol", "dave"] as const // dave starts outside
    const texts = ["hi", "hello"] as const
    /** Commands by shape; message ids and stamps are numbered by position when the list is built. */
    const shape = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          t: fc.constant("send" as const),
          user: fc.constantFrom(...users),
          cmid: fc.constantFrom("c1", "c2", "c3"),
          text: fc.constantFrom(...texts),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          t: fc.constant("receipt" as const),
          user: fc.constantFrom(...users),
          kind: fc.constantFrom("delivered" as const, "read" as const),
          seq: fc.integer({ min: -1, max: 12 }),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          t: fc.constant("status" as const),
          target: fc.nat({ max: 30 }),
          user: fc.constantFrom(...users),
          channel: fc.constantFrom("whatsapp", "telegram"),
          status: fc.constantFrom<Delivery.DeliveryStatus>("pending", "sent", "failed", "delivered", "read"),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ t: fc.constant("add" as const), user: fc.constantFrom(...users) }),
      },
      {
        weight: 1,
        arbitrary: fc.record({ t: fc.constant("remove" as const), user: fc.constantFrom(...users) }),
      },
    )
    type Shape = typeof shape extends fc.Arbitrary<infer T> ? T : never
    const build = (shapes: ReadonlyArray<Shape>): Array<Command> =>
      shapes.map((s, i) => {
        const n = i + 1
        switch (s.t) {
          case "send":
            return send(n, s.user, s.cmid, s.text)
          case "receipt":
            return receipt(n, s.user, s.kind, s.seq)
          case "status":
            return deliveryUpdate(n, s.target, s.user, s.channel, s.status)
          case "add":
            return addMember(n, s.user)
          default:
            return removeMember(n, s.user)
        }
      })
    const commands = fc.array(shape, { maxLength: 30 }).map(build)
    /** Split points that cut a command list into consecutive batches. */
    const chunked = commands.chain((cs) =>
      fc.tuple(
        fc.constant(cs),
        fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, cs.length) }), { maxLength: 5 }),
      ),
    )
    const cut = <A>(items: ReadonlyArray<A>, points: ReadonlyArray<number>): Array<Array<A>> => {
      const sorted = [...new Set(points)].filter((p) => p < items.length).sort((a, b) => a - b)
      const out: Array<Array<A>> = []
      let from = 0
      for (const p of [...sorted, items.length]) {
        out.push(items.slice(from, p))
        from = p
      }
      return out
    }

    it("group commit changes nothing: one batch or any split into batches gives the same outcomes and events", () => {
      fc.assert(
        fc.property(chunked, ([cs, points]) => {
          const whole = decideBatch(group(), cs)
          let state = group()
          const outcomes: Array<Either.Either<unknown, Errors.CommandError>> = []
          const events: Array<Event.Event> = []
          for (const batch of cut(cs, points)) {
            const decided = decideBatch(state, batch)
            outcomes.push(...decided.outcomes)
            events.push(...decided.events)
            state = decided.state
          }
          expect(plain(outcomes)).toEqual(plain(whole.outcomes))
          expect(events).toEqual(whole.events)
          expect(state.conversation).toEqual(whole.state.conversation)
        }),
        { numRuns },
      )
    })

    it("evolving the batch's events from the initial state gives the batch's final state", () => {
      fc.assert(
        fc.property(commands, (cs) => {
          const batch = decideBatch(group(), cs)
          const replayed = apply(group(), batch.events)
          expect(replayed.conversation).toEqual(batch.state.conversation)
          expect([...replayed.byKey.keys()]).toEqual([...batch.state.byKey.keys()])
          expect([...replayed.deliveries.values()]).toEqual([...batch.state.deliveries.values()])
        }),
        { numRuns },
      )
    })

    it("sends follow the model: gapless seqs, members only, replay by fingerprint, conflict otherwise", () => {
      fc.assert(
        fc.property(fc.array(shape, { maxLength: 30 }), (shapes) => {
          const cs = build(shapes)
          const batch = decideBatch(group(), cs)
          // The model: who is a member, and the first message per (sender, cmid).
          const members = new Set<string>(["alice", "bob", "carol"])
          const first = new Map<string, { text: string; seq: number; n: number }>()
          let lastSeq = 0
          shapes.forEach((s, i) => {
            const outcome = batch.outcomes[i]!
            if (s.t === "add") members.add(s.user)
            if (s.t === "remove") members.delete(s.user)
            if (s.t === "receipt" || s.t === "status") {
              if (s.t === "receipt" && (s.seq < 0 || s.seq > lastSeq || !members.has(s.user)))
                expect(Either.isLeft(outcome)).toBe(true)
              return
            }
            if (s.t !== "send") return
            if (!members.has(s.user)) {
              expect(Either.isLeft(outcome) && outcome.left._tag).toBe("NotAMember")
              return
            }
            const key = `${s.user}/${s.cmid}`
            const prior = first.get(key)
            if (prior !== undefined && prior.text !== s.text) {
              expect(Either.isLeft(outcome) && outcome.left).toMatchObject({
                _tag: "IdempotencyConflict",
                originalMessageId: messageId(prior.n),
              })
              return
            }
            if (Either.isLeft(outcome)) throw new Error(`unexpected ${outcome.left._tag}`)
            const result = outcome.right as Extract<ConversationCommand.CommandResult, { _tag: "Sent" }>
            if (prior !== undefined) {
              expect(result.replayed).toBe(true)
              expect(result.message.seq).toBe(prior.seq)
              expect(result.message.id).toBe(messageId(prior.n))
            } else {
              lastSeq++
              expect(result.replayed).toBe(false)
              expect(result.message.seq).toBe(lastSeq)
              expect(result.message.id).toBe(messageId(i + 1))
              first.set(key, { text: s.text, seq: lastSeq, n: i + 1 })
            }
          })
          const seqs = batch.events.flatMap((e) => (e.type === "message.created" ? [e.data.message.seq] : []))
          expect(seqs).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1))
          expect(batch.state.conversation.lastSeq).toBe(lastSeq)
        }),
        { numRuns },
      )
    })

    it("a rejected or no-op command emits nothing, and every event belongs to an accepted command", () => {
      fc.assert(
        fc.property(commands, (cs) => {
          let state = group()
          for (const c of cs) {
            const decision = decide(state, c)
            if (Either.isLeft(decision)) continue
            const { result, events } = decision.right
            const changed =
              (result._tag === "Sent" && !result.replayed) ||
              (result._tag === "ReceiptRecorded" && result.changed) ||
              (result._tag === "DeliveryRecorded" && result.applied) ||
              (result._tag === "MemberAdded" && result.added) ||
              (result._tag === "MemberRemoved" && result.removed)
            expect(events.length).toBe(changed ? 1 : 0)
            for (const e of events) {
              expect(e.id).toBe(c.stamp.eventId)
              expect(e.at).toBe(c.stamp.at)
              expect(e.conversationId).toBe(state.conversation.id)
            }
            state = apply(state, events)
          }
        }),
        { numRuns },
      )
    })
  })
})

import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"
import type { Message } from "../model/Message.js"
import { MessageStore } from "../ports/MessageStore.js"
import * as Fixtures from "./Fixtures.js"
import { commitAll, createConversation, type StorageEnv, sendMany } from "./Storage.js"

const u = Fixtures.user

/** The MessageStore contract: reads by id and by seq, aggregate status, delivery records and history. */
export const messageStoreSuite = <E>(name: string, storage: Layer.Layer<StorageEnv, E>) =>
  describe(`MessageStore contract: ${name}`, () => {
    layer(storage, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("reads a message by id, only within its tenant", () =>
        Effect.gen(function* () {
          const messages = yield* MessageStore
          const conversation = yield* createConversation(Fixtures.freshTenant(), "group", ["ann", "bob"])
          const [sent] = yield* sendMany(conversation, "ann", 1)
          const found = Option.getOrThrow(yield* messages.get(conversation.tenantId, sent!.id))
          assert.strictEqual(found.id, sent!.id)
          assert.strictEqual(found.seq, 1)
          assert.strictEqual(found.conversationId, conversation.id)
          assert.strictEqual(found.senderId, "ann")
          assert.strictEqual(found.clientMessageId, "m1")
          assert.deepStrictEqual(found.content, Fixtures.text("m 1"))
          assert.deepStrictEqual(found.channels, ["all"])
          assert.strictEqual(found.createdAt, sent!.createdAt)
          assert.strictEqual(found.status, "sent")
          assert.isTrue(Option.isNone(yield* messages.get(Fixtures.freshTenant(), sent!.id)))
        }),
      )

      it.effect("lists by seq: the latest page, after, before, and between", () =>
        Effect.gen(function* () {
          const messages = yield* MessageStore
          const conversation = yield* createConversation(Fixtures.freshTenant(), "group", ["ann"])
          yield* sendMany(conversation, "ann", 10)
          const seqs = (options: { after?: number; before?: number; limit: number }) =>
            Effect.map(messages.list(conversation.tenantId, conversation.id, options), (ms) =>
              ms.map((m) => m.seq),
            )
          assert.deepStrictEqual(yield* seqs({ limit: 3 }), [8, 9, 10])
          assert.deepStrictEqual(yield* seqs({ limit: 50 }), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
          assert.deepStrictEqual(yield* seqs({ after: 2, limit: 3 }), [3, 4, 5])
          assert.deepStrictEqual(yield* seqs({ before: 4, limit: 50 }), [1, 2, 3])
          assert.deepStrictEqual(yield* seqs({ before: 8, limit: 2 }), [6, 7])
          assert.deepStrictEqual(yield* seqs({ after: 3, before: 7, limit: 50 }), [4, 5, 6])
          assert.deepStrictEqual(yield* seqs({ after: 10, limit: 5 }), [])
          assert.deepStrictEqual(yield* seqs({ before: 1, limit: 5 }), [])
          const other = yield* messages.list(Fixtures.freshTenant(), conversation.id, { limit: 5 })
          assert.strictEqual(other.length, 0)
        }),
      )

      it.effect("derives the sender's status from every recipient's horizons", () =>
        Effect.gen(function* () {
          const messages = yield* MessageStore
          const conversation = yield* createConversation(Fixtures.freshTenant(), "group", [
            "ann",
            "bob",
            "cid",
          ])
          const [m1, m2] = yield* sendMany(conversation, "ann", 2)
          const status = (id: string) =>
            Effect.map(
              messages.get(conversation.tenantId, id as Message["id"]),
              (m) => Option.getOrThrow(m).status,
            )
          yield* commitAll(conversation, [yield* Fixtures.receipt(u("bob"), "delivered", 2)])
          assert.strictEqual(yield* status(m1!.id), "sent")
          yield* commitAll(conversation, [yield* Fixtures.receipt(u("cid"), "read", 1)])
          assert.strictEqual(yield* status(m1!.id), "delivered")
          assert.strictEqual(yield* status(m2!.id), "sent")
          yield* commitAll(conversation, [yield* Fixtures.receipt(u("bob"), "read", 2)])
          assert.strictEqual(yield* status(m1!.id), "read")
          const listed = yield* messages.list(conversation.tenantId, conversation.id, { limit: 5 })
          assert.deepStrictEqual(
            listed.map((m) => m.status),
            ["read", "sent"],
          )
        }),
      )

      it.effect("keeps connector delivery records monotonic and the history of what was applied", () =>
        Effect.gen(function* () {
          const messages = yield* MessageStore
          const conversation = yield* createConversation(Fixtures.freshTenant(), "group", ["ann", "bob"])
          const [m] = yield* sendMany(conversation, "ann", 1)
          const results = yield* commitAll(conversation, [
            yield* Fixtures.deliveryUpdate(m!.id, u("bob"), "whatsapp", "sent"),
            yield* Fixtures.deliveryUpdate(m!.id, u("bob"), "whatsapp", "read", "seen on phone"),
            yield* Fixtures.deliveryUpdate(m!.id, u("bob"), "whatsapp", "delivered"),
            yield* Fixtures.deliveryUpdate(m!.id, u("bob"), "whatsapp", "failed"),
            yield* Fixtures.deliveryUpdate(m!.id, u("bob"), "telegram", "failed", "blocked by user"),
          ])
          assert.deepStrictEqual(
            results.map((r) => (r._tag === "DeliveryRecorded" ? r.applied : r._tag)),
            [true, true, false, false, true],
          )
          const records = yield* messages.deliveries(conversation.tenantId, m!.id)
          assert.deepStrictEqual(records.map((r) => [r.userId, r.channel, r.status]).sort(), [
            ["bob", "telegram", "failed"],
            ["bob", "whatsapp", "read"],
          ])
          const history = yield* messages.history(conversation.tenantId, m!.id)
          assert.deepStrictEqual(
            history.map((h) => [h.status, h.userId ?? null, h.channel ?? null, h.detail ?? null]),
            [
              ["sent", null, null, null],
              ["sent", "bob", "whatsapp", null],
              ["read", "bob", "whatsapp", "seen on phone"],
              ["failed", "bob", "telegram", "blocked by user"],
            ],
          )
          for (let i = 1; i < history.length; i++) assert.isAtLeast(history[i]!.at, history[i - 1]!.at)
          // Bob read it on WhatsApp: for the sender, the message is read.
          assert.strictEqual(
            Option.getOrThrow(yield* messages.get(conversation.tenantId, m!.id)).status,
            "read",
          )
        }),
      )
    })
  })

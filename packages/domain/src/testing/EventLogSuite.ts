import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { EventLog } from "../ports/EventLog.js"
import * as Fixtures from "./Fixtures.js"
import { commitAll, createConversation, type StorageEnv, sendMany } from "./Storage.js"

const u = Fixtures.user

/** The EventLog contract: a cursor per tenant that returns each visible committed event once, in order. */
export const eventLogSuite = <E>(name: string, storage: Layer.Layer<StorageEnv, E>) =>
  describe(`EventLog contract: ${name}`, () => {
    layer(storage, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("starts empty at the head and returns committed events in order", () =>
        Effect.gen(function* () {
          const log = yield* EventLog
          const tenant = Fixtures.freshTenant()
          const start = yield* log.head(tenant)
          const empty = yield* log.since(tenant, u("ann"), start, 10)
          assert.deepStrictEqual(empty.events, [])
          assert.isFalse(empty.hasMore)
          const conversation = yield* createConversation(tenant, "group", ["ann", "bob"])
          yield* sendMany(conversation, "bob", 2)
          yield* commitAll(conversation, [yield* Fixtures.receipt(u("ann"), "read", 2)])
          const batch = yield* log.since(tenant, u("ann"), start, 10)
          assert.deepStrictEqual(
            batch.events.map((e) => e.type),
            ["conversation.created", "message.created", "message.created", "receipt.read"],
          )
          assert.isFalse(batch.hasMore)
          const next = yield* log.since(tenant, u("ann"), batch.nextCursor, 10)
          assert.deepStrictEqual(next.events, [])
          assert.strictEqual(yield* log.head(tenant), batch.nextCursor)
        }),
      )

      it.effect("pages with limit and hasMore, never repeating or skipping", () =>
        Effect.gen(function* () {
          const log = yield* EventLog
          const tenant = Fixtures.freshTenant()
          const start = yield* log.head(tenant)
          const conversation = yield* createConversation(tenant, "group", ["ann"])
          const sent = yield* sendMany(conversation, "ann", 7)
          const ids: Array<string> = []
          let cursor = start
          let more = true
          let rounds = 0
          while (more && rounds++ < 10) {
            const batch = yield* log.since(tenant, u("ann"), cursor, 3)
            ids.push(...batch.events.map((e) => e.id))
            cursor = batch.nextCursor
            more = batch.hasMore
          }
          assert.strictEqual(ids.length, 8)
          assert.strictEqual(new Set(ids).size, 8)
          const messageEvents = (yield* log.since(tenant, u("ann"), start, 50)).events.filter(
            (e) => e.type === "message.created",
          )
          assert.deepStrictEqual(
            messageEvents.map((e) => (e.type === "message.created" ? e.data.message.id : "")),
            sent.map((m) => m.id),
          )
        }),
      )

      it.effect("shows a user only their conversations, and the removal that took them out", () =>
        Effect.gen(function* () {
          const log = yield* EventLog
          const tenant = Fixtures.freshTenant()
          const start = yield* log.head(tenant)
          const shared = yield* createConversation(tenant, "group", ["ann", "bob"])
          yield* createConversation(tenant, "group", ["cid"])
          yield* sendMany(shared, "ann", 1)
          yield* commitAll(shared, [yield* Fixtures.removeMember(u("bob"))])
          yield* sendMany(shared, "ann", 1, "after")
          const bob = yield* log.since(tenant, u("bob"), start, 50)
          assert.deepStrictEqual(
            bob.events.map((e) => e.type),
            ["member.removed"],
          )
          const cid = yield* log.since(tenant, u("cid"), start, 50)
          assert.deepStrictEqual(
            cid.events.map((e) => e.type),
            ["conversation.created"],
          )
          const ann = yield* log.since(tenant, u("ann"), start, 50)
          assert.strictEqual(ann.events.length, 4)
          assert.isTrue(ann.events.every((e) => e.conversationId === shared.id && e.tenantId === tenant))
          const otherTenant = yield* log.head(Fixtures.freshTenant())
          const foreign = yield* log.since(Fixtures.freshTenant(), u("ann"), otherTenant, 50)
          assert.strictEqual(foreign.events.length, 0)
        }),
      )

      it.effect("refuses a cursor it did not hand out", () =>
        Effect.gen(function* () {
          const log = yield* EventLog
          const tenant = Fixtures.freshTenant()
          for (const bad of ["", "not-a-cursor", "-1", "99999999999999999999", "1e3"]) {
            const error = yield* Effect.flip(log.since(tenant, u("ann"), bad, 10))
            assert.strictEqual(error._tag, "InvalidCursor", `cursor ${JSON.stringify(bad)}`)
          }
        }),
      )
    })
  })

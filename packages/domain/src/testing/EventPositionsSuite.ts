import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { EventLog } from "../ports/EventLog.js"
import { Outbox } from "../ports/Outbox.js"
import * as Fixtures from "./Fixtures.js"
import { commitAll, createConversation, type StorageEnv, sendMany } from "./Storage.js"

const u = Fixtures.user

/** Claims everything outstanding, so a test starts from an empty outbox. */
const drain = Effect.gen(function* () {
  const outbox = yield* Outbox
  for (;;) {
    const claimed = yield* outbox.claim({ limit: 500, leaseMs: 60_000 })
    if (claimed.length === 0) return
    yield* outbox.complete(claimed.map((e) => e.id))
  }
})

/**
 * Event positions, which the realtime edge relies on for exact resume cursors and for putting events that
 * reach a node out of order back in order: every event read back from storage (EventLog, Outbox) carries
 * its position in the tenant's log, positions run 1, 2, 3, ... without gaps in commit order, and an
 * EventLog cursor is a position in decimal.
 */
export const eventPositionsSuite = <E>(name: string, storage: Layer.Layer<StorageEnv, E>) =>
  describe(`Event positions: ${name}`, () => {
    layer(storage, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("numbers a tenant's events gaplessly, and a cursor is a position in decimal", () =>
        Effect.gen(function* () {
          const log = yield* EventLog
          const tenant = Fixtures.freshTenant()
          assert.strictEqual(yield* log.head(tenant), "0")
          const shared = yield* createConversation(tenant, "group", ["ann", "bob"])
          yield* createConversation(tenant, "group", ["cid"])
          yield* sendMany(shared, "bob", 3)
          yield* commitAll(shared, [yield* Fixtures.receipt(u("ann"), "read", 2)])
          const all = yield* log.since(tenant, u("ann"), "0", 50)
          // ann does not see cid's conversation (position 2): positions are the tenant's, not the reader's.
          assert.deepStrictEqual(
            all.events.map((e) => e.position),
            [1, 3, 4, 5, 6],
          )
          assert.strictEqual(yield* log.head(tenant), "6")
          // Resuming from an event's position returns exactly what came after it.
          const after = yield* log.since(tenant, u("ann"), String(all.events[2]!.position), 50)
          assert.deepStrictEqual(
            after.events.map((e) => e.id),
            all.events.slice(3).map((e) => e.id),
          )
        }),
      )

      it.effect("gives outbox entries the position of their event in the log", () =>
        Effect.gen(function* () {
          const log = yield* EventLog
          const outbox = yield* Outbox
          yield* drain
          const tenant = Fixtures.freshTenant()
          const conversation = yield* createConversation(tenant, "group", ["ann"])
          yield* sendMany(conversation, "ann", 4)
          const claimed = yield* outbox.claim({ limit: 50, leaseMs: 60_000 })
          const mine = claimed.filter((e) => e.event.tenantId === tenant)
          const logged = yield* log.since(tenant, u("ann"), "0", 50)
          assert.deepStrictEqual(
            mine.map((e) => [e.event.id, e.event.position]),
            logged.events.map((e) => [e.id, e.position]),
          )
          assert.deepStrictEqual(
            mine.map((e) => e.event.position),
            [1, 2, 3, 4, 5],
          )
          yield* outbox.complete(claimed.map((e) => e.id))
        }),
      )
    })
  })

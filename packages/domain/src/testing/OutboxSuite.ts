import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect, type Layer } from "effect"
import { Outbox } from "../ports/Outbox.js"
import * as Fixtures from "./Fixtures.js"
import { createConversation, type StorageEnv, sendMany } from "./Storage.js"

/** Claims everything outstanding, so a test starts from an empty outbox. */
const drain = Effect.gen(function* () {
  const outbox = yield* Outbox
  for (;;) {
    const claimed = yield* outbox.claim({ limit: 500, leaseMs: 60_000 })
    if (claimed.length === 0) return
    yield* outbox.complete(claimed.map((e) => e.id))
  }
})

/** The Outbox contract: every committed event is there, leased to one claimer at a time, until completed. */
export const outboxSuite = <E>(name: string, storage: Layer.Layer<StorageEnv, E>) =>
  describe(`Outbox contract: ${name}`, () => {
    layer(storage, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("holds the events of each commit until they are completed", () =>
        Effect.gen(function* () {
          const outbox = yield* Outbox
          yield* drain
          const conversation = yield* createConversation(Fixtures.freshTenant(), "group", ["ann"])
          const sent = yield* sendMany(conversation, "ann", 3)
          const depth = yield* outbox.depth
          assert.strictEqual(depth.count, 4)
          assert.isDefined(depth.oldestAt)
          const claimed = yield* outbox.claim({ limit: 10, leaseMs: 60_000 })
          assert.deepStrictEqual(
            claimed.map((e) => e.event.type),
            ["conversation.created", "message.created", "message.created", "message.created"],
          )
          assert.deepStrictEqual(
            claimed.slice(1).map((e) => (e.event.type === "message.created" ? e.event.data.message.id : "")),
            sent.map((m) => m.id),
          )
          assert.isTrue(claimed.every((e) => e.attempts === 1))
          // Leased: nobody else gets them.
          assert.strictEqual((yield* outbox.claim({ limit: 10, leaseMs: 60_000 })).length, 0)
          yield* outbox.complete(claimed.map((e) => e.id))
          assert.strictEqual((yield* outbox.depth).count, 0)
        }),
      )

      it.effect("claims at most the limit, and each entry by one claimer only", () =>
        Effect.gen(function* () {
          const outbox = yield* Outbox
          yield* drain
          const conversation = yield* createConversation(Fixtures.freshTenant(), "group", ["ann"])
          yield* sendMany(conversation, "ann", 9)
          const claims = yield* Effect.all(
            Array.from({ length: 4 }, () => outbox.claim({ limit: 3, leaseMs: 60_000 })),
            { concurrency: "unbounded" },
          )
          const ids = claims.flatMap((c) => c.map((e) => e.id))
          assert.isTrue(claims.every((c) => c.length <= 3))
          assert.strictEqual(ids.length, 10)
          assert.strictEqual(new Set(ids).size, 10)
          yield* outbox.complete(ids)
        }),
      )

      it.effect("gives an entry back when its lease lapses, or when released for a later retry", () =>
        Effect.gen(function* () {
          const outbox = yield* Outbox
          yield* drain
          yield* createConversation(Fixtures.freshTenant(), "group", ["ann"])
          const [leased] = yield* outbox.claim({ limit: 1, leaseMs: 300 })
          assert.isDefined(leased)
          yield* Effect.sleep("450 millis")
          const [again] = yield* outbox.claim({ limit: 1, leaseMs: 60_000 })
          assert.strictEqual(again?.id, leased!.id)
          assert.strictEqual(again?.attempts, 2)
          const now = yield* Clock.currentTimeMillis
          yield* outbox.release(again!.id, now + 300)
          assert.strictEqual((yield* outbox.claim({ limit: 1, leaseMs: 60_000 })).length, 0)
          yield* Effect.sleep("450 millis")
          const [third] = yield* outbox.claim({ limit: 1, leaseMs: 60_000 })
          assert.strictEqual(third?.id, leased!.id)
          assert.strictEqual(third?.attempts, 3)
          yield* outbox.complete([third!.id])
          assert.strictEqual((yield* outbox.depth).count, 0)
        }),
      )
    })
  })

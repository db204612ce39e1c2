import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer, Schema } from "effect"
import { ConversationId, EventId, MessageId, seedIdMillis } from "../model/Ids.js"
import { IdGenerator } from "../ports/IdGenerator.js"

/** The IdGenerator contract: seed-format ids, time-prefixed, unique even when thousands share a millisecond. */
export const idGeneratorSuite = <E>(name: string, ids: Layer.Layer<IdGenerator, E>) =>
  describe(`IdGenerator contract: ${name}`, () => {
    layer(ids, { excludeTestServices: true })((it) => {
      it.effect("makes valid ids prefixed with the current millisecond", () =>
        Effect.gen(function* () {
          const gen = yield* IdGenerator
          const before = Date.now()
          const message = yield* gen.messageId
          const event = yield* gen.eventId
          const conversation = yield* gen.conversationId
          const after = Date.now()
          assert.isTrue(Schema.is(MessageId)(message))
          assert.isTrue(Schema.is(EventId)(event))
          assert.isTrue(Schema.is(ConversationId)(conversation))
          assert.isAtLeast(seedIdMillis(message), before)
          assert.isAtMost(seedIdMillis(message), after)
        }),
      )

      it.effect("never repeats, even for many ids in the same millisecond", () =>
        Effect.gen(function* () {
          const gen = yield* IdGenerator
          const seen = new Set<string>()
          const perMillisecond = new Map<number, number>()
          for (let i = 0; i < 20_000; i++) {
            const id = yield* gen.messageId
            seen.add(id)
            perMillisecond.set(seedIdMillis(id), (perMillisecond.get(seedIdMillis(id)) ?? 0) + 1)
          }
          assert.strictEqual(seen.size, 20_000)
          // The point of the test: many ids really did share a millisecond.
          assert.isAbove(Math.max(...perMillisecond.values()), 100)
        }),
      )
    })
  })

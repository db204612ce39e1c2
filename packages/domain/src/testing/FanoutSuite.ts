import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Effect, type Layer, Queue } from "effect"
import { Fanout } from "../ports/Fanout.js"
import type { IdGenerator } from "../ports/IdGenerator.js"
import * as Fixtures from "./Fixtures.js"

/** The Fanout contract: every subscriber receives what is published after it subscribed, in order. */
export const fanoutSuite = <E>(name: string, fanout: Layer.Layer<Fanout | IdGenerator, E>) =>
  describe(`Fanout contract: ${name}`, () => {
    layer(fanout, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.scoped("delivers published events to every subscriber in order", () =>
        Effect.gen(function* () {
          const fanout = yield* Fanout
          const tenant = Fixtures.freshTenant()
          const first = yield* fanout.subscribe
          const second = yield* fanout.subscribe
          const events = yield* Effect.forEach([["ann"], ["bob"], ["cid"]], (members) =>
            Effect.map(Fixtures.newConversation(tenant, "group", members.map(Fixtures.user)), (c) => c.event),
          )
          yield* fanout.publish(events.slice(0, 2))
          yield* fanout.publish(events.slice(2))
          for (const queue of [first, second]) {
            const received: Array<string> = []
            while (received.length < 3) {
              const next = yield* Queue.take(queue).pipe(Effect.timeout("10 seconds"))
              if (next.tenantId === tenant) received.push(next.id)
            }
            assert.deepStrictEqual(
              received,
              events.map((e) => e.id),
            )
          }
        }),
      )

      it.scoped("carries the whole event, schema-equal to what was published", () =>
        Effect.gen(function* () {
          const fanout = yield* Fanout
          const tenant = Fixtures.freshTenant()
          const queue = yield* fanout.subscribe
          const { event } = yield* Fixtures.newConversation(tenant, "direct", [
            Fixtures.user("a"),
            Fixtures.user("b"),
          ])
          yield* fanout.publish([event])
          let received = yield* Queue.take(queue).pipe(Effect.timeout("10 seconds"))
          while (received.tenantId !== tenant)
            received = yield* Queue.take(queue).pipe(Effect.timeout("10 seconds"))
          assert.deepStrictEqual(received, event)
          assert.isTrue(
            Chunk.isEmpty(
              yield* Queue.takeAll(queue).pipe(Effect.map(Chunk.filter((e) => e.tenantId === tenant))),
            ),
          )
        }),
      )
    })
  })

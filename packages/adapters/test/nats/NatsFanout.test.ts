import { Event, Fanout, type Ids, Presence } from "@chat4all/domain"
import { Fixtures, TestIdGenerator } from "@chat4all/domain/testing"
import { assert, describe, it } from "@effect/vitest"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Chunk, Context, Effect, Exit, Layer, Option, Queue, Scope } from "effect"
import * as fc from "fast-check"
import * as Nats from "../../src/nats/index.js"
import { decodeToken, encodeToken } from "../../src/nats/internal/tokens.js"
import { Signals } from "../../src/ws/Signals.js"
import { deleteResources, freshOptions, natsUrl, skipNotice } from "./support.js"

describe("NATS subject tokens", () => {
  it("escape any id into one subject token and back", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 128 }), (id) => {
        const token = encodeToken(id)
        assert.match(token, /^[A-Za-z0-9_-]+$/)
        assert.strictEqual(decodeToken(token), id)
      }),
    )
    assert.strictEqual(encodeToken("acme.corp:eu_1"), "acme_dcorp_ceu__1")
    assert.notStrictEqual(encodeToken("a.b"), encodeToken("a_db"))
  })

  it("keep ids of the API's alphabet distinct per token", () => {
    const alphabet = fc.constantFrom(..."abcXYZ019._:-".split(""))
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, minLength: 1 }),
        fc.string({ unit: alphabet, minLength: 1 }),
        (a, b) => {
          if (a !== b) assert.notStrictEqual(encodeToken(a), encodeToken(b))
        },
      ),
    )
  })
})

/** One node: its own connection, fanout, presence and signals, over the run's stream and bucket. */
const node = (options: Nats.Options) => Layer.build(Nats.layer(options))

const newEvent = (tenantId: Ids.TenantId) =>
  Fixtures.newConversation(tenantId, "group", [Fixtures.user("ann")]).pipe(
    Effect.map(({ event }) => event as Event.Event),
    Effect.provide(TestIdGenerator.layer),
  )

const takeOf = (queue: Queue.Dequeue<Event.Event>, tenantId: Ids.TenantId) =>
  Effect.gen(function* () {
    for (;;) {
      const event = yield* Queue.take(queue).pipe(Effect.timeout("10 seconds"))
      if (event.tenantId === tenantId) return event
    }
  })

if (natsUrl === undefined) {
  console.warn(skipNotice)
  describe("NATS adapters", () => it.skip(skipNotice, () => {}))
} else {
  describe("NATS adapters", () => {
    const withRun = <A, E>(body: (options: Nats.Options) => Effect.Effect<A, E, Scope.Scope>) =>
      Effect.gen(function* () {
        const options = freshOptions("adapters")
        yield* Effect.addFinalizer(() => deleteResources(options))
        return yield* body(options)
      })

    it.scopedLive("carries an event from one node to every node, escaped subject and position intact", () =>
      withRun((options) =>
        Effect.gen(function* () {
          const a = yield* node(options)
          const b = yield* node(options)
          const fanoutA = Context.get(a, Fanout.Fanout)
          const fanoutB = Context.get(b, Fanout.Fanout)
          const onA = yield* fanoutA.subscribe
          const onB = yield* fanoutB.subscribe
          const tenant = "acme.corp:eu" as Ids.TenantId
          const event = Event.withPosition(yield* newEvent(tenant), 42)
          yield* fanoutA.publish([event])
          for (const queue of [onA, onB]) {
            const received = yield* takeOf(queue, tenant)
            assert.strictEqual(received.id, event.id)
            assert.strictEqual(received.position, 42)
            assert.strictEqual(received.conversationId, event.conversationId)
          }
          // The stream holds it under the tenant and conversation's escaped subject.
          const nc = yield* Effect.promise(() => connect({ servers: options.servers }))
          yield* Effect.addFinalizer(() => Effect.promise(() => nc.close()))
          const jsm = yield* Effect.promise(() => jetstreamManager(nc))
          const stored = yield* Effect.promise(() => jsm.streams.getMessage(options.stream, { seq: 1 }))
          assert.strictEqual(
            stored?.subject,
            `${options.subjectPrefix}.events.acme_dcorp_ceu.${encodeToken(event.conversationId)}`,
          )
        }),
      ),
    )

    it.scopedLive("drops a relay's retry of the same event (Nats-Msg-Id = event id)", () =>
      withRun((options) =>
        Effect.gen(function* () {
          const fanout = Context.get(yield* node(options), Fanout.Fanout)
          const queue = yield* fanout.subscribe
          const tenant = Fixtures.freshTenant()
          const first = yield* newEvent(tenant)
          const second = yield* newEvent(tenant)
          yield* fanout.publish([first])
          yield* fanout.publish([first, second])
          assert.strictEqual((yield* takeOf(queue, tenant)).id, first.id)
          assert.strictEqual((yield* takeOf(queue, tenant)).id, second.id)
          yield* Effect.sleep("300 millis")
          assert.isTrue(Chunk.isEmpty(yield* Queue.takeAll(queue)))
        }),
      ),
    )

    it.scopedLive("gives a node only what is published after it started", () =>
      withRun((options) =>
        Effect.gen(function* () {
          const a = Context.get(yield* node(options), Fanout.Fanout)
          const tenant = Fixtures.freshTenant()
          const before = yield* newEvent(tenant)
          yield* a.publish([before])
          const b = Context.get(yield* node(options), Fanout.Fanout)
          const onB = yield* b.subscribe
          const after = yield* newEvent(tenant)
          yield* a.publish([after])
          assert.strictEqual((yield* takeOf(onB, tenant)).id, after.id)
        }),
      ),
    )

    it.scopedLive("drains on shutdown: what a node published just before it closed still arrives", () =>
      withRun((options) =>
        Effect.gen(function* () {
          const b = Context.get(yield* node(options), Fanout.Fanout)
          const onB = yield* b.subscribe
          const tenant = Fixtures.freshTenant()
          const events = yield* Effect.all(Array.from({ length: 20 }, () => newEvent(tenant)))
          const scope = yield* Scope.make()
          const a = Context.get(yield* Layer.buildWithScope(Nats.layer(options), scope), Fanout.Fanout)
          yield* a.publish(events)
          yield* Scope.close(scope, Exit.void)
          const received: Array<string> = []
          while (received.length < events.length) received.push((yield* takeOf(onB, tenant)).id)
          assert.deepStrictEqual(
            received,
            events.map((e) => e.id),
          )
        }),
      ),
    )

    it.scopedLive("answers the readiness probe, and names the server it cannot reach", () =>
      withRun((options) =>
        Effect.gen(function* () {
          const fanout = Context.get(yield* node(options), Fanout.Fanout)
          yield* fanout.publish([])
          const down = yield* Layer.build(Nats.layer({ ...options, servers: "nats://127.0.0.1:1" })).pipe(
            Effect.flip,
          )
          assert.instanceOf(down, Fanout.FanoutUnavailable)
          assert.include(down.operation, "nats://127.0.0.1:1")
        }),
      ),
    )

    it.scopedLive("shares presence and signals between nodes", () =>
      withRun((options) =>
        Effect.gen(function* () {
          const a = yield* node(options)
          const b = yield* node(options)
          const tenant = "clinic.one" as Ids.TenantId
          const user = "dr:ann" as Ids.UserId
          yield* Context.get(a, Presence.Presence).heartbeat(tenant, user, "away", 60_000)
          const [seen] = yield* Context.get(b, Presence.Presence).get(tenant, [user])
          assert.strictEqual(seen?.status, "away")
          const onB = yield* Context.get(b, Signals).subscribe
          yield* Context.get(a, Signals).publish({
            _tag: "typing",
            tenantId: tenant,
            conversationId: "c.1" as Ids.ConversationId,
            userId: user,
            state: "start",
          })
          const signal = yield* Queue.take(onB).pipe(Effect.timeout("5 seconds"))
          assert.deepStrictEqual(signal, {
            _tag: "typing",
            tenantId: tenant,
            conversationId: "c.1" as Ids.ConversationId,
            userId: user,
            state: "start",
          })
          yield* Context.get(a, Presence.Presence).offline(tenant, user)
          const [gone] = yield* Context.get(b, Presence.Presence).get(tenant, [user])
          assert.strictEqual(gone?.status, "offline")
          assert.isDefined(gone?.lastSeen)
          assert.isTrue(Option.isNone(yield* Queue.poll(onB)))
        }),
      ),
    )
  })
}

import { storageLayer } from "@chat4all/adapters/memory"
import { type Event, EventLog, Fanout, type Ids, Outbox, OutboxRelay } from "@chat4all/domain"
import { Fixtures, Storage, TestIdGenerator } from "@chat4all/domain/testing"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Layer, PubSub, Queue, Ref, Scope } from "effect"

/**
 * A real in-process fanout whose publish can be made to fail or to hang, standing in for a broker that
 * is down or a process that dies mid-publish.
 */
const controllableFanout = Effect.gen(function* () {
  const pubsub = yield* PubSub.unbounded<Event.Event>()
  const mode = yield* Ref.make<"up" | "down" | "hang">("up")
  const attempts = yield* Ref.make(0)
  const hung = yield* Deferred.make<void>()
  const fanout = Fanout.Fanout.of({
    publish: (events) =>
      Effect.gen(function* () {
        yield* Ref.update(attempts, (n) => n + 1)
        const now = yield* Ref.get(mode)
        if (now === "down")
          return yield* new Fanout.FanoutUnavailable({
            operation: "publish",
            cause: new Error("broker is down"),
          })
        if (now === "hang") {
          yield* Deferred.succeed(hung, undefined)
          return yield* Effect.never
        }
        yield* PubSub.publishAll(pubsub, events)
      }),
    subscribe: PubSub.subscribe(pubsub),
  })
  return { fanout, mode, attempts, hung }
})

const storage = Layer.merge(storageLayer, TestIdGenerator.layer)

/** Takes `count` events of `tenant` from a subscription, in the order they arrive. */
const takeEvents = (queue: Queue.Dequeue<Event.Event>, tenant: Ids.TenantId, count: number) =>
  Effect.gen(function* () {
    const ids: Array<string> = []
    while (ids.length < count) {
      const event = yield* Queue.take(queue).pipe(Effect.timeout("5 seconds"))
      if (event.tenantId === tenant) ids.push(event.id)
    }
    return ids
  })

/** Every committed event of a tenant, in log order. */
const committedIds = (tenant: Ids.TenantId, user: string) =>
  Effect.gen(function* () {
    const log = yield* EventLog.EventLog
    const batch = yield* log.since(tenant, Fixtures.user(user), "0", 200)
    return batch.events.map((e) => e.id)
  })

describe("OutboxRelay", () => {
  it.scopedLive("publishes committed events in commit order, completes them, and wakes on a nudge", () =>
    Effect.gen(function* () {
      const { fanout } = yield* controllableFanout
      const context = yield* Layer.build(storage)
      const run = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        effect.pipe(Effect.provide(context), Effect.provideService(Fanout.Fanout, fanout))
      // A poll so slow that only the nudge can explain a prompt delivery.
      const relay = yield* run(OutboxRelay.make({ ...OutboxRelay.defaults, pollMs: 60_000 }))
      const events = yield* fanout.subscribe
      const tenant = Fixtures.freshTenant()
      const conversation = yield* run(Storage.createConversation(tenant, "group", ["ann", "bob"]))
      yield* run(Storage.sendMany(conversation, "ann", 5))
      yield* relay.nudge
      const started = Date.now()
      const received = yield* takeEvents(events, tenant, 6)
      assert.isBelow(Date.now() - started, 2_000)
      assert.deepStrictEqual(received, yield* run(committedIds(tenant, "ann")))
      const depth = yield* run(Effect.flatMap(Outbox.Outbox, (o) => o.depth))
      assert.strictEqual(depth.count, 0)
      assert.strictEqual(yield* relay.published, 6)
      assert.isDefined(yield* relay.lastRoundAt)
    }),
  )

  it.scopedLive("nudgeOnCommit wakes the relay after each commit", () =>
    Effect.gen(function* () {
      const { fanout } = yield* controllableFanout
      const relayLayer = OutboxRelay.layer({ ...OutboxRelay.defaults, pollMs: 60_000 }).pipe(
        Layer.provide(Layer.succeed(Fanout.Fanout, fanout)),
      )
      const layer = OutboxRelay.nudgeOnCommit.pipe(
        Layer.provideMerge(relayLayer),
        Layer.provideMerge(storage),
      )
      const context = yield* Layer.build(layer)
      const events = yield* fanout.subscribe
      const tenant = Fixtures.freshTenant()
      const started = Date.now()
      const conversation = yield* Storage.createConversation(tenant, "group", ["ann"]).pipe(
        Effect.provide(context),
      )
      yield* Storage.sendMany(conversation, "ann", 3).pipe(Effect.provide(context))
      const received = yield* takeEvents(events, tenant, 4)
      assert.isBelow(Date.now() - started, 2_000)
      assert.strictEqual(received.length, 4)
    }),
  )

  it.scopedLive("finds events by polling when nobody nudges", () =>
    Effect.gen(function* () {
      const { fanout } = yield* controllableFanout
      const context = yield* Layer.build(storage)
      const run = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        effect.pipe(Effect.provide(context), Effect.provideService(Fanout.Fanout, fanout))
      yield* run(OutboxRelay.make({ ...OutboxRelay.defaults, pollMs: 50 }))
      const events = yield* fanout.subscribe
      const tenant = Fixtures.freshTenant()
      const conversation = yield* run(Storage.createConversation(tenant, "group", ["ann"]))
      yield* run(Storage.sendMany(conversation, "ann", 2))
      assert.deepStrictEqual(yield* takeEvents(events, tenant, 3), yield* run(committedIds(tenant, "ann")))
    }),
  )

  it.scopedLive("releases a failed batch with a backoff and publishes it again, still in order", () =>
    Effect.gen(function* () {
      const { fanout, mode, attempts } = yield* controllableFanout
      const context = yield* Layer.build(storage)
      const run = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        effect.pipe(Effect.provide(context), Effect.provideService(Fanout.Fanout, fanout))
      const events = yield* fanout.subscribe
      const tenant = Fixtures.freshTenant()
      const conversation = yield* run(Storage.createConversation(tenant, "group", ["ann"]))
      yield* run(Storage.sendMany(conversation, "ann", 3))
      yield* Ref.set(mode, "down")
      const relay = yield* run(OutboxRelay.make({ ...OutboxRelay.defaults, pollMs: 20, retryMs: 100 }))
      // Wait for a few failed attempts; the entries must still be in the outbox, none published.
      while ((yield* Ref.get(attempts)) < 2) yield* Effect.sleep("20 millis")
      const outbox = yield* run(Outbox.Outbox)
      assert.strictEqual((yield* outbox.depth).count, 4)
      assert.isAtLeast(yield* relay.failures, 2)
      // Committed while the broker is down, after the failed batch: must come after it.
      yield* run(Storage.sendMany(conversation, "ann", 2, "late"))
      yield* Ref.set(mode, "up")
      const received = yield* takeEvents(events, tenant, 6)
      assert.deepStrictEqual(received, yield* run(committedIds(tenant, "ann")))
      assert.strictEqual((yield* outbox.depth).count, 0)
    }),
  )

  it.scopedLive("loses nothing when the relay dies between commit and publish", () =>
    Effect.gen(function* () {
      const first = yield* controllableFanout
      const context = yield* Layer.build(storage)
      const tenant = Fixtures.freshTenant()
      const conversation = yield* Storage.createConversation(tenant, "group", ["ann"]).pipe(
        Effect.provide(context),
      )
      yield* Storage.sendMany(conversation, "ann", 3).pipe(Effect.provide(context))

      // The first relay claims the events and dies in the middle of publishing them.
      yield* Ref.set(first.mode, "hang")
      const crashed = yield* Scope.make()
      yield* OutboxRelay.make({ ...OutboxRelay.defaults, leaseMs: 300, pollMs: 20 }).pipe(
        Effect.provide(context),
        Effect.provideService(Fanout.Fanout, first.fanout),
        Scope.extend(crashed),
      )
      yield* Deferred.await(first.hung).pipe(Effect.timeout("5 seconds"))
      yield* Scope.close(crashed, Exit.void)
      // More is committed while no relay runs at all.
      yield* Storage.sendMany(conversation, "ann", 2, "orphan").pipe(Effect.provide(context))

      // A second relay (another node, or the restarted process) publishes all of it once the lease lapses.
      const second = yield* controllableFanout
      const events = yield* second.fanout.subscribe
      yield* OutboxRelay.make({ ...OutboxRelay.defaults, leaseMs: 300, pollMs: 20 }).pipe(
        Effect.provide(context),
        Effect.provideService(Fanout.Fanout, second.fanout),
      )
      const received = yield* takeEvents(events, tenant, 6)
      // Every committed event exactly once. The orphans may overtake the leased batch (it comes back only
      // when its lease lapses); their positions let a subscriber restore the commit order.
      const committed = yield* committedIds(tenant, "ann").pipe(Effect.provide(context))
      assert.strictEqual(new Set(received).size, 6)
      assert.deepStrictEqual([...received].sort(), [...committed].sort())
      const outbox = yield* Outbox.Outbox.pipe(Effect.provide(context))
      assert.strictEqual((yield* outbox.depth).count, 0)
    }),
  )

  it("backs off exponentially up to the cap", () => {
    const options = { ...OutboxRelay.defaults, retryMs: 100, maxRetryMs: 1_000 }
    assert.deepStrictEqual(
      [1, 2, 3, 4, 5, 50].map((a) => OutboxRelay.backoff(options, a)),
      [100, 200, 400, 800, 1_000, 1_000],
    )
  })
})

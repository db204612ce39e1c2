import { KeyedActors } from "@chat4all/domain"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Either, Exit, Fiber, Ref, Scope, TestClock } from "effect"

/** An echo actor that records each batch it is handed and how many handlers run at once per key. */
const recorder = Effect.gen(function* () {
  const batches = yield* Ref.make<Array<{ key: string; items: ReadonlyArray<number> }>>([])
  const running = new Map<string, number>()
  let maxOverlap = 0
  const gate = yield* Ref.make<Deferred.Deferred<void> | undefined>(undefined)
  const actors = yield* KeyedActors.make<number, number, string, never>({
    name: "test",
    idleTimeToLive: "1 minute",
    mailboxCapacity: 4,
    maxBatch: 16,
    handleBatch: (key, items) =>
      Effect.gen(function* () {
        running.set(key, (running.get(key) ?? 0) + 1)
        maxOverlap = Math.max(maxOverlap, running.get(key)!)
        yield* Ref.update(batches, (b) => [...b, { key, items }])
        const wait = yield* Ref.get(gate)
        if (wait) yield* Deferred.await(wait)
        yield* Effect.yieldNow()
        running.set(key, running.get(key)! - 1)
        if (items.includes(-1)) return yield* Effect.fail("refused")
        if (items.includes(-2)) return yield* Effect.dieMessage("poison")
        return items.map((n) => (n === 13 ? Either.left("unlucky") : Either.right(n * 10)))
      }),
  })
  /**
   * Makes the batches wait (each handler, once started, blocks) until the returned `release` runs, which
   * lets them and every later batch through.
   */
  const hold = Effect.gen(function* () {
    const held = yield* Deferred.make<void>()
    yield* Ref.set(gate, held)
    return Effect.zipRight(Ref.set(gate, undefined), Deferred.succeed(held, undefined))
  })
  return { actors, batches, gate, hold, maxOverlap: () => maxOverlap }
})

describe("KeyedActors", () => {
  it.scoped("answers each request, serialising one key and batching what queued up", () =>
    Effect.gen(function* () {
      const { actors, batches, maxOverlap, hold } = yield* recorder
      const release = yield* hold
      // The first request occupies the actor; the rest queue up behind it and arrive as one batch.
      const first = yield* Effect.fork(actors.ask("a", 1))
      yield* Effect.yieldNow()
      const rest = yield* Effect.fork(
        Effect.all(
          [2, 3, 4, 13].map((n) => Effect.either(actors.ask("a", n))),
          { concurrency: "unbounded" },
        ),
      )
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      yield* release
      assert.strictEqual(yield* Fiber.join(first), 10)
      const answers = yield* Fiber.join(rest)
      assert.deepStrictEqual(answers, [
        Either.right(20),
        Either.right(30),
        Either.right(40),
        Either.left("unlucky"),
      ])
      const seen = yield* Ref.get(batches)
      assert.deepStrictEqual(
        seen.map((b) => b.items),
        [[1], [2, 3, 4, 13]],
      )
      assert.strictEqual(maxOverlap(), 1)
    }),
  )

  it.scoped("runs different keys independently", () =>
    Effect.gen(function* () {
      const { actors, gate } = yield* recorder
      const hold = yield* Deferred.make<void>()
      yield* Ref.set(gate, hold)
      const blocked = yield* Effect.fork(actors.ask("slow", 1))
      yield* Effect.yieldNow()
      yield* Ref.set(gate, undefined)
      // "slow" is stuck on its gate, yet "fast" answers.
      assert.strictEqual(yield* actors.ask("fast", 5), 50)
      assert.deepStrictEqual([...(yield* actors.active)].sort(), ["fast", "slow"])
      yield* Deferred.succeed(hold, undefined)
      assert.strictEqual(yield* Fiber.join(blocked), 10)
    }),
  )

  it.scoped("back-pressures callers when the mailbox is full", () =>
    Effect.gen(function* () {
      const { actors, hold } = yield* recorder
      const release = yield* hold
      const offered = yield* Ref.make(0)
      const callers = yield* Effect.forEach(
        Array.from({ length: 12 }, (_, i) => i + 1),
        (n) => Effect.fork(Ref.update(offered, (x) => x + 1).pipe(Effect.zipRight(actors.ask("k", n)))),
      )
      yield* Effect.repeatN(Effect.yieldNow(), 50)
      // One batch is in the handler and 4 requests fill the mailbox: the other callers wait to enqueue.
      const done = yield* Effect.forEach(callers, (f) => f.poll)
      assert.isTrue(done.every((d) => d._tag === "None"))
      yield* release
      const answers = yield* Effect.forEach(callers, Fiber.join)
      assert.deepStrictEqual(
        answers,
        Array.from({ length: 12 }, (_, i) => (i + 1) * 10),
      )
    }),
  )

  it.scoped("never handles a request whose caller stopped waiting before its batch began", () =>
    Effect.gen(function* () {
      const { actors, batches, hold } = yield* recorder
      const release = yield* hold
      const first = yield* Effect.fork(actors.ask("q", 1))
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      const queued = yield* Effect.fork(actors.ask("q", 2))
      const waiting = yield* Effect.forEach([3, 4, 5, 6, 7], (n) => Effect.fork(actors.ask("q", n)))
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      // One in the mailbox and one waiting for room give up; the others still get their answers.
      yield* Fiber.interrupt(queued)
      yield* Fiber.interrupt(waiting[4]!)
      yield* release
      assert.strictEqual(yield* Fiber.join(first), 10)
      assert.deepStrictEqual(yield* Effect.forEach(waiting.slice(0, 4), Fiber.join), [30, 40, 50, 60])
      const handled = (yield* Ref.get(batches)).flatMap((b) => b.items)
      assert.deepStrictEqual(handled, [1, 3, 4, 5, 6])
    }),
  )

  it.scoped("still handles and answers a caller that waits uninterruptibly, even once interrupted", () =>
    Effect.gen(function* () {
      const { actors, batches, hold } = yield* recorder
      const release = yield* hold
      const first = yield* Effect.fork(actors.ask("u", 1))
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      const answered = yield* Ref.make<number | undefined>(undefined)
      const stubborn = yield* Effect.fork(
        Effect.uninterruptible(Effect.flatMap(actors.ask("u", 2), (n) => Ref.set(answered, n))),
      )
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      // The interruption waits for the uninterruptible region to end, which needs the answer.
      yield* Fiber.interruptFork(stubborn)
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      yield* release
      assert.strictEqual(yield* Fiber.join(first), 10)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(stubborn)))
      assert.strictEqual(yield* Ref.get(answered), 20)
      assert.deepStrictEqual(
        (yield* Ref.get(batches)).flatMap((b) => b.items),
        [1, 2],
      )
    }),
  )

  it.scoped("interrupts the callers still waiting when its scope closes", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const { actors, gate } = yield* Scope.extend(recorder, scope)
      yield* Ref.set(gate, yield* Deferred.make<void>())
      const callers = yield* Effect.forEach([1, 2, 3], (n) => Effect.fork(actors.ask("s", n)))
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      yield* Scope.close(scope, Exit.void)
      for (const caller of callers) assert.isTrue(Exit.isInterrupted(yield* Fiber.await(caller)))
    }),
  )

  it.scoped("fails every request of a batch that fails as a whole", () =>
    Effect.gen(function* () {
      const { actors } = yield* recorder
      const error = yield* Effect.flip(actors.ask("x", -1))
      assert.strictEqual(error, "refused")
      assert.strictEqual(yield* actors.ask("x", 2), 20)
    }),
  )

  it.scoped("restarts after a defect, failing only the request that caused it", () =>
    Effect.gen(function* () {
      const { actors, batches, hold } = yield* recorder
      const release = yield* hold
      const first = yield* Effect.fork(actors.ask("p", 1))
      yield* Effect.yieldNow()
      const batch = yield* Effect.fork(
        Effect.all(
          [2, -2, 3].map((n) => Effect.exit(actors.ask("p", n))),
          { concurrency: "unbounded" },
        ),
      )
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      yield* release
      yield* Fiber.join(first)
      const [two, poison, three] = yield* Fiber.join(batch)
      assert.deepStrictEqual(two?._tag === "Success" && two.value, 20)
      assert.deepStrictEqual(three?._tag === "Success" && three.value, 30)
      assert.strictEqual(poison?._tag, "Failure")
      // The batch was retried one request at a time after the defect.
      const seen = (yield* Ref.get(batches)).map((b) => b.items)
      assert.deepStrictEqual(seen.slice(1), [[2, -2, 3], [2], [-2], [3]])
      assert.strictEqual(yield* actors.ask("p", 4), 40)
    }),
  )

  it.scoped("passivates an idle actor and starts it again on the next message", () =>
    Effect.gen(function* () {
      const { actors } = yield* recorder
      assert.strictEqual(yield* actors.ask("idle", 1), 10)
      assert.deepStrictEqual(yield* actors.active, ["idle"])
      yield* TestClock.adjust("59 seconds")
      assert.deepStrictEqual(yield* actors.active, ["idle"])
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(yield* actors.active, [])
      assert.strictEqual(yield* actors.ask("idle", 2), 20)
      assert.deepStrictEqual(yield* actors.active, ["idle"])
    }),
  )
})

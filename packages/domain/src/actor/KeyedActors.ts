import {
  Cause,
  Clock,
  Deferred,
  Duration,
  Effect,
  type Either,
  Fiber,
  Queue,
  Schedule,
  type Scope,
} from "effect"

/**
 * Keyed single-writer actors on Effect fibers: one mailbox and one fiber per key, started by the first
 * message, passivated after `idleTimeToLive` without callers, and restarted after a defect.
 *
 * The fiber drains its mailbox in batches of up to `maxBatch` and hands each batch to `handleBatch` at
 * once: that is what lets the conversation actor commit many commands in one transaction (group commit).
 * A full mailbox suspends the caller (back-pressure) instead of growing memory.
 */
export interface KeyedActors<Req, A, E> {
  /** Sends a request to the actor of `key` and waits for its answer. */
  readonly ask: (key: string, request: Req) => Effect.Effect<A, E>
  /** Keys whose actors are alive now. */
  readonly active: Effect.Effect<ReadonlyArray<string>>
}

export interface KeyedActorsOptions<Req, A, E, R> {
  /** Names the actors in logs. */
  readonly name: string
  readonly idleTimeToLive: Duration.DurationInput
  readonly mailboxCapacity: number
  readonly maxBatch: number
  /**
   * Handles a batch in arrival order and answers each request, in the same order. Failing as a whole
   * fails every request of the batch. Requests must be idempotent: after a defect, the batch is retried
   * one request at a time so that only the request that causes it fails.
   */
  readonly handleBatch: (
    key: string,
    requests: ReadonlyArray<Req>,
  ) => Effect.Effect<ReadonlyArray<Either.Either<A, E>>, E, R>
}

interface Entry<Req, A, E> {
  readonly mailbox: Queue.Queue<Envelope<Req, A, E>>
  /** Callers waiting for an answer: an actor with callers is never passivated. */
  callers: number
  lastActive: number
  fiber: Fiber.RuntimeFiber<never, never> | undefined
}

interface Envelope<Req, A, E> {
  readonly request: Req
  readonly reply: Deferred.Deferred<A, E>
}

export const make = <Req, A, E, R>(
  options: KeyedActorsOptions<Req, A, E, R>,
): Effect.Effect<KeyedActors<Req, A, E>, never, Scope.Scope | R> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<R>()

    const answer = (batch: ReadonlyArray<Envelope<Req, A, E>>, results: ReadonlyArray<Either.Either<A, E>>) =>
      Effect.forEach(
        batch,
        (envelope, i) => {
          const result = results[i]
          return result === undefined
            ? Deferred.die(
                envelope.reply,
                new Error(`${options.name}: handleBatch answered ${results.length} of ${batch.length}`),
              )
            : Deferred.complete(envelope.reply, result)
        },
        { discard: true },
      )

    const run = (key: string, batch: ReadonlyArray<Envelope<Req, A, E>>): Effect.Effect<void> =>
      options
        .handleBatch(
          key,
          batch.map((e) => e.request),
        )
        .pipe(
          Effect.matchCauseEffect({
            onSuccess: (results) => answer(batch, results),
            onFailure: (cause) => {
              const failure = Cause.failureOption(cause)
              if (failure._tag === "Some" && !Cause.isDie(cause))
                return Effect.forEach(batch, (e) => Deferred.fail(e.reply, failure.value), { discard: true })
              if (Cause.isInterruptedOnly(cause))
                return Effect.forEach(batch, (e) => Deferred.interrupt(e.reply), { discard: true })
              return Effect.logError(`${options.name} ${key}: defect, restarting`, cause).pipe(
                Effect.zipRight(
                  batch.length > 1
                    ? Effect.forEach(batch, (e) => run(key, [e]), { discard: true })
                    : Effect.forEach(batch, (e) => Deferred.failCause(e.reply, cause as Cause.Cause<E>), {
                        discard: true,
                      }),
                ),
              )
            },
          }),
          Effect.provide(context),
        )

    const scope = yield* Effect.scope
    const entries = new Map<string, Entry<Req, A, E>>()
    const idleMs = Duration.toMillis(options.idleTimeToLive)

    /**
     * The entry of `key`, started if need be, with one more caller counted in. Lookup, start and count
     * happen in one synchronous step, so passivation can never remove an entry a caller is about to use.
     * (A plain map with a count is much cheaper per call than an RcMap, whose `get` needs a Scope.)
     */
    const enter = (key: string) =>
      Effect.sync(() => {
        let entry = entries.get(key)
        const fresh = entry === undefined
        if (entry === undefined) {
          entry = {
            mailbox: Effect.runSync(Queue.bounded<Envelope<Req, A, E>>(options.mailboxCapacity)),
            callers: 0,
            lastActive: 0,
            fiber: undefined,
          }
          entries.set(key, entry)
        }
        entry.callers++
        return { entry, fresh }
      })

    const start = (key: string, entry: Entry<Req, A, E>) =>
      Queue.takeBetween(entry.mailbox, 1, options.maxBatch).pipe(
        Effect.flatMap((chunk) => run(key, Array.from(chunk))),
        Effect.forever,
        // Started from an uninterruptible region (see `acquire`): the loop itself must stay interruptible.
        Effect.interruptible,
        Effect.forkIn(scope),
        Effect.tap((fiber) =>
          Effect.sync(() => {
            entry.fiber = fiber
          }),
        ),
      )

    const leave = (entry: Entry<Req, A, E>) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        entry.callers--
        entry.lastActive = now
      })

    /** Stops the actors nobody has called for `idleTimeToLive`; checked a few times per idle period. */
    const passivate = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const idle: Array<Entry<Req, A, E>> = []
      for (const [key, entry] of entries)
        if (entry.callers === 0 && now - entry.lastActive >= idleMs) {
          entries.delete(key)
          idle.push(entry)
        }
      yield* Effect.forEach(
        idle,
        (entry) =>
          Queue.shutdown(entry.mailbox).pipe(
            Effect.zipRight(entry.fiber ? Fiber.interrupt(entry.fiber) : Effect.void),
          ),
        { discard: true },
      )
    })
    yield* passivate.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1, Math.floor(idleMs / 4))))),
      Effect.forkIn(scope),
    )
    yield* Effect.addFinalizer(() =>
      Effect.forEach(entries.values(), (entry) => Queue.shutdown(entry.mailbox), { discard: true }),
    )

    /** The entry, with its fiber running; uninterruptible so no entry is ever left without its fiber. */
    const acquire = (key: string) =>
      Effect.uninterruptible(
        Effect.flatMap(enter(key), ({ entry, fresh }) =>
          fresh ? Effect.as(start(key, entry), entry) : Effect.succeed(entry),
        ),
      )

    const ask = (key: string, request: Req): Effect.Effect<A, E> =>
      Effect.acquireUseRelease(
        acquire(key),
        (entry) =>
          Effect.flatMap(Deferred.make<A, E>(), (reply) =>
            Queue.offer(entry.mailbox, { request, reply }).pipe(Effect.zipRight(Deferred.await(reply))),
          ),
        leave,
      )

    return { ask, active: Effect.sync(() => [...entries.keys()]) }
  })

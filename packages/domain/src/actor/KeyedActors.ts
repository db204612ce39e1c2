import { Cause, Deferred, type Duration, Effect, type Either, Queue, RcMap, type Scope } from "effect"

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

    const actors = yield* RcMap.make({
      lookup: (key: string) =>
        Effect.gen(function* () {
          const mailbox = yield* Queue.bounded<Envelope<Req, A, E>>(options.mailboxCapacity)
          yield* Effect.addFinalizer(() => Queue.shutdown(mailbox))
          yield* Queue.takeBetween(mailbox, 1, options.maxBatch).pipe(
            Effect.flatMap((chunk) => run(key, Array.from(chunk))),
            Effect.forever,
            Effect.forkScoped,
          )
          return mailbox
        }),
      idleTimeToLive: options.idleTimeToLive,
    })

    const ask = (key: string, request: Req): Effect.Effect<A, E> =>
      Effect.scoped(
        Effect.gen(function* () {
          // Holding the reference until the answer keeps the actor alive while it works for us.
          const mailbox = yield* RcMap.get(actors, key)
          const reply = yield* Deferred.make<A, E>()
          yield* Queue.offer(mailbox, { request, reply })
          return yield* Deferred.await(reply)
        }),
      )

    return { ask, active: RcMap.keys(actors) }
  })

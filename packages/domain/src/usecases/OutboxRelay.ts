import { Cause, Clock, Context, Duration, Effect, Layer, Option, Queue, Ref } from "effect"
import type { Event } from "../model/Event.js"
import { ConversationStore } from "../ports/ConversationStore.js"
import { Fanout } from "../ports/Fanout.js"
import { Outbox, type OutboxEntry } from "../ports/Outbox.js"

/**
 * The outbox relay: carries committed events from the transactional outbox to the fanout.
 *
 * One round claims the oldest entries under a lease, publishes them in claim order, and completes them.
 * A failed publish releases the whole batch with a backoff and the relay pauses for that backoff, so the
 * batch goes out again before anything committed after it. A crash anywhere between commit and complete
 * loses nothing: the entries stay in the outbox and are claimed again when their lease lapses. Delivery is
 * therefore at least once; subscribers dedup by event id (and order by `position`).
 *
 * The relay wakes when nudged (after a commit on this node, see `nudgeOnCommit`) and otherwise polls,
 * which catches commits of other nodes whose relay died and leases that lapsed.
 */
export class OutboxRelay extends Context.Tag("@chat4all/domain/OutboxRelay")<
  OutboxRelay,
  {
    /** Asks for a round now; never blocks. */
    readonly nudge: Effect.Effect<void>
    /** Epoch ms of the last round that completed, with or without events; undefined before the first. */
    readonly lastRoundAt: Effect.Effect<number | undefined>
    /** Events published since the relay started (a publish that is retried counts again). */
    readonly published: Effect.Effect<number>
    /** Failed rounds (claim, publish or complete) since the relay started. */
    readonly failures: Effect.Effect<number>
  }
>() {}

export interface Options {
  /** Most entries per round. */
  readonly batch: number
  /** How long claimed entries stay this relay's; a relay that dies gives them up after this long. */
  readonly leaseMs: number
  /** The longest an idle relay waits without a nudge before it looks again. */
  readonly pollMs: number
  /** Backoff after a failure: `retryMs * 2^(attempts - 1)`, at most `maxRetryMs`. */
  readonly retryMs: number
  readonly maxRetryMs: number
}

export const defaults: Options = {
  batch: 256,
  leaseMs: 10_000,
  pollMs: 100,
  retryMs: 200,
  maxRetryMs: 30_000,
}

/** The wait after a failure of an entry claimed `attempts` times. */
export const backoff = (options: Options, attempts: number): number =>
  Math.min(options.maxRetryMs, options.retryMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)))

/** Why a round failed, for the log: the tagged error's message, or the cause rendered. */
const describe = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (error !== null && typeof error === "object" && "_tag" in error)
      return `${String(error._tag)}: ${error instanceof Error ? error.message : ""} ${
        "cause" in error ? String(error.cause) : ""
      }`.trim()
  }
  return Cause.pretty(cause)
}

/**
 * Starts the relay in the current scope; it stops when the scope closes (between rounds or by
 * interruption mid-round, which leaves the claimed entries to lapse and be claimed again).
 */
export const make = (options: Options = defaults) =>
  Effect.gen(function* () {
    const outbox = yield* Outbox
    const fanout = yield* Fanout
    const nudges = yield* Queue.sliding<void>(1)
    const lastRoundAt = yield* Ref.make<number | undefined>(undefined)
    const published = yield* Ref.make(0)
    const failures = yield* Ref.make(0)
    let consecutiveFailures = 0

    const publishBatch = (entries: ReadonlyArray<OutboxEntry>) =>
      Effect.gen(function* () {
        const events: ReadonlyArray<Event> = entries.map((e) => e.event)
        const outcome = yield* Effect.either(fanout.publish(events))
        if (outcome._tag === "Right") {
          yield* outbox.complete(entries.map((e) => e.id))
          yield* Ref.update(published, (n) => n + entries.length)
          return Duration.zero
        }
        // Everything claimed goes back together, to come out again in the same order.
        const attempts = entries.reduce((most, e) => Math.max(most, e.attempts), 1)
        const wait = backoff(options, attempts)
        const retryAt = (yield* Clock.currentTimeMillis) + wait
        yield* Effect.logWarning(
          `outbox relay: publishing ${entries.length} event(s) failed (attempt ${attempts}); ` +
            `retrying in ${wait} ms: ${outcome.left.message || String(outcome.left.cause)}`,
        )
        yield* Ref.update(failures, (n) => n + 1)
        yield* Effect.forEach(entries, (e) => outbox.release(e.id, retryAt), { discard: true })
        return Duration.millis(wait)
      })

    /** One round: how long to wait before the next (zero: at once), or none to wait for a nudge or the poll. */
    const round = Effect.gen(function* () {
      const entries = yield* outbox.claim({ limit: options.batch, leaseMs: options.leaseMs })
      // Nothing claimed: wait for a nudge or the poll. Published: go again at once, there may be more.
      // Failed: pause for the backoff, so the released batch goes out before anything newer.
      const pause = entries.length === 0 ? Option.none() : Option.some(yield* publishBatch(entries))
      yield* Clock.currentTimeMillis.pipe(Effect.flatMap((now) => Ref.set(lastRoundAt, now)))
      consecutiveFailures = 0
      return pause
    }).pipe(
      Effect.catchAllCause((cause) =>
        Effect.gen(function* () {
          if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause)
          consecutiveFailures++
          const wait = backoff(options, consecutiveFailures)
          yield* Ref.update(failures, (n) => n + 1)
          yield* Effect.logWarning(`outbox relay: a round failed; retrying in ${wait} ms: ${describe(cause)}`)
          return Option.some(Duration.millis(wait))
        }),
      ),
    )

    const idle = Queue.take(nudges).pipe(
      Effect.timeoutOption(Duration.millis(options.pollMs)),
      Effect.zipRight(Queue.takeAll(nudges)),
    )

    yield* round.pipe(
      Effect.flatMap((pause) =>
        Option.match(pause, {
          onNone: () => idle,
          onSome: (wait) => (Duration.toMillis(wait) === 0 ? Effect.void : Effect.sleep(wait)),
        }),
      ),
      Effect.forever,
      Effect.annotateLogs("worker", "outbox-relay"),
      Effect.forkScoped,
    )

    return OutboxRelay.of({
      nudge: Queue.offer(nudges, undefined).pipe(Effect.asVoid),
      lastRoundAt: Ref.get(lastRoundAt),
      published: Ref.get(published),
      failures: Ref.get(failures),
    })
  })

export const layer = (options: Options = defaults): Layer.Layer<OutboxRelay, never, Outbox | Fanout> =>
  Layer.scoped(OutboxRelay, make(options))

/**
 * The ConversationStore of `store`, nudging the relay after every commit and create, so that an event
 * goes out as soon as it is committed instead of at the next poll.
 */
export const nudgeOnCommit: Layer.Layer<ConversationStore, never, ConversationStore | OutboxRelay> =
  Layer.effect(
    ConversationStore,
    Effect.gen(function* () {
      const store = yield* ConversationStore
      const relay = yield* OutboxRelay
      return ConversationStore.of({
        ...store,
        create: (conversation, event) => Effect.tap(store.create(conversation, event), () => relay.nudge),
        commit: (tenantId, conversationId, commands) =>
          Effect.tap(store.commit(tenantId, conversationId, commands), () => relay.nudge),
      })
    }),
  )

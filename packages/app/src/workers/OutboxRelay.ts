import { Fanout, Outbox } from "@chat4all/domain"
import { Clock, Context, Duration, Effect, Layer, Metric } from "effect"
import { outboxFailures, outboxPublished } from "../observability/Metrics.js"

export interface Options {
  /** Entries per round. */
  readonly batch: number
  /** How long a claimed entry stays ours before another relay may take it. */
  readonly leaseMs: number
  /** The pause after an empty round grows from `minIdleMs` to `maxIdleMs`. */
  readonly minIdleMs: number
  readonly maxIdleMs: number
  /** After a failed publish, the entries come back this much later. */
  readonly retryMs: number
}

export const defaults: Options = { batch: 512, leaseMs: 30_000, minIdleMs: 1, maxIdleMs: 50, retryMs: 1_000 }

/**
 * Publishes committed events from the transactional outbox to the fanout: claim a batch under a lease,
 * publish it, complete it. A failed publish gives the batch back for a later round, so delivery is at
 * least once and in commit order per conversation; consumers dedup by event id.
 */
export class OutboxRelay extends Context.Tag("@chat4all/app/OutboxRelay")<
  OutboxRelay,
  {
    /** Epoch ms of the last round that completed (with or without events); undefined before the first. */
    readonly lastRoundAt: Effect.Effect<number | undefined>
  }
>() {}

export const make = (options: Options = defaults) =>
  Effect.gen(function* () {
    const outbox = yield* Outbox.Outbox
    const fanout = yield* Fanout.Fanout
    let lastRoundAt: number | undefined
    let idleMs = options.minIdleMs

    const round = Effect.gen(function* () {
      const entries = yield* outbox.claim({ limit: options.batch, leaseMs: options.leaseMs })
      if (entries.length > 0) {
        const published = yield* fanout.publish(entries.map((e) => e.event)).pipe(
          Effect.as(true),
          Effect.catchAll((error) =>
            Effect.gen(function* () {
              yield* Effect.logWarning("outbox relay: publish failed; the batch will be retried", error)
              yield* Metric.increment(outboxFailures)
              const retryAt = (yield* Clock.currentTimeMillis) + options.retryMs
              yield* Effect.forEach(entries, (e) => outbox.release(e.id, retryAt), { discard: true })
              return false
            }),
          ),
        )
        if (published) {
          yield* outbox.complete(entries.map((e) => e.id))
          yield* Metric.incrementBy(outboxPublished, entries.length)
        }
      }
      lastRoundAt = yield* Clock.currentTimeMillis
      return entries.length
    })

    yield* round.pipe(
      Effect.catchAll((error) =>
        Effect.zipRight(
          Effect.logWarning("outbox relay: a round failed; retrying", error),
          Effect.zipRight(Metric.increment(outboxFailures), Effect.succeed(0)),
        ),
      ),
      Effect.flatMap((count) => {
        if (count >= options.batch) {
          idleMs = options.minIdleMs
          return Effect.void
        }
        if (count > 0) idleMs = options.minIdleMs
        const pause = idleMs
        idleMs = Math.min(options.maxIdleMs, idleMs * 2)
        return Effect.sleep(Duration.millis(pause))
      }),
      Effect.forever,
      Effect.forkScoped,
    )
    return OutboxRelay.of({ lastRoundAt: Effect.sync(() => lastRoundAt) })
  })

export const layer = (
  options: Options = defaults,
): Layer.Layer<OutboxRelay, never, Outbox.Outbox | Fanout.Fanout> => Layer.scoped(OutboxRelay, make(options))

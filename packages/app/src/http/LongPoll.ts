import { type Caller, Fanout, Sync } from "@chat4all/domain"
import { Clock, Effect, Metric, Option, Queue } from "effect"
import { syncWaiting } from "../observability/Metrics.js"

/**
 * Sync that long-polls: when nothing is new and `timeoutMs` allows, it subscribes to the fanout, reads the
 * log again (so an event committed in between is not missed), and then re-reads the log whenever an
 * event of the caller's tenant goes by, until something is there for the caller or the time is up.
 */
export const syncLongPoll = (
  caller: Caller.Caller,
  options: {
    readonly since?: string | undefined
    readonly limit?: number | undefined
    readonly timeoutMs?: number | undefined
  },
) =>
  Effect.gen(function* () {
    const first = yield* Sync.sync(caller, options)
    const timeoutMs = options.timeoutMs ?? 0
    if (options.since === undefined || first.events.length > 0 || timeoutMs <= 0) return first
    const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
    yield* Metric.incrementBy(syncWaiting, 1)
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const fanout = yield* Fanout.Fanout
        const events = yield* fanout.subscribe
        let result = yield* Sync.sync(caller, options)
        while (result.events.length === 0) {
          const remaining = deadline - (yield* Clock.currentTimeMillis)
          if (remaining <= 0) break
          const next = yield* Queue.take(events).pipe(Effect.timeoutOption(remaining))
          if (Option.isNone(next)) break
          if (next.value.tenantId !== caller.tenantId) continue
          yield* Queue.takeAll(events)
          result = yield* Sync.sync(caller, options)
        }
        return result
      }),
    ).pipe(Effect.ensuring(Metric.incrementBy(syncWaiting, -1)))
  })

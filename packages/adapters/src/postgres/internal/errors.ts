import { Errors } from "@chat4all/domain"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Metric, Schedule } from "effect"

/** The SQLSTATE of the PostgreSQL error behind a SqlError, when there is one. */
export const sqlState = (error: SqlError): string | undefined => {
  const cause = error.cause as { readonly code?: unknown } | undefined
  return typeof cause?.code === "string" ? cause.code : undefined
}

export const isSqlState = (error: SqlError, ...codes: ReadonlyArray<string>): boolean => {
  const code = sqlState(error)
  return code !== undefined && codes.includes(code)
}

/**
 * Errors that a fresh attempt of the same transaction can get past: a unique violation from a concurrent
 * writer that got there first (the retry reads its row), a serialization failure, a deadlock.
 */
export const isTransient = (error: SqlError): boolean => isSqlState(error, "23505", "40001", "40P01")

/**
 * Quick attempts with jitter, so that colliding writers spread out instead of colliding again: 5 ms
 * doubling, at most 250 ms apart, ten retries (about 1.5 s in all) before the caller sees StoreUnavailable.
 */
export const transientRetry = Schedule.exponential("5 millis", 2).pipe(
  Schedule.either(Schedule.spaced("250 millis")),
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(10)),
)

/** What the store was doing and why it failed, for the log: the SQLSTATE and the server's message. */
const describe = (operation: string, error: SqlError): string => {
  const cause = error.cause as { readonly message?: unknown } | undefined
  const code = sqlState(error)
  const detail = typeof cause?.message === "string" ? cause.message : error.message
  return `${operation} failed${code === undefined ? "" : ` (SQLSTATE ${code})`}: ${detail}`
}

/** Maps the SqlError of a store call to the domain's StoreUnavailable, naming the operation. */
export const unavailable =
  (operation: string) =>
  <A, E, R>(
    self: Effect.Effect<A, E | SqlError, R>,
  ): Effect.Effect<A, Exclude<E, SqlError> | Errors.StoreUnavailable, R> =>
    Effect.catchIf(self, isSqlError, (error) =>
      Effect.fail(
        new Errors.StoreUnavailable({
          operation,
          cause: new Error(describe(operation, error), { cause: error }),
        }),
      ),
    ) as Effect.Effect<A, Exclude<E, SqlError> | Errors.StoreUnavailable, R>

/** Transactions that failed transiently (and were retried while attempts remained), by operation. */
export const transientFailures = Metric.counter("chat4all_store_transient_failures_total", {
  description: "store transactions that hit a unique violation, serialization failure or deadlock",
  incremental: true,
})

const retryable = (error: unknown): boolean =>
  (isSqlError(error) && isTransient(error)) || isTagged(error, "CreateRace")

/**
 * Runs a whole transaction again on a transient failure, counting each one. The retry schedule is only
 * set up once a first attempt has failed: building its driver on every call cost the hot commit path
 * more than the rest of the error handling put together.
 */
export const retryTransient =
  (operation: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    const counted = Effect.tapError(self, (error) =>
      isSqlError(error) && isTransient(error)
        ? Metric.increment(Metric.tagged(transientFailures, "operation", operation))
        : Effect.void,
    )
    return Effect.catchIf(counted, retryable, (failure) => {
      // The schedule starts from the failure already seen, so attempts and delays are as if it had driven
      // the first attempt too.
      let replayed = false
      const attempt = Effect.suspend(() => {
        if (replayed) return counted
        replayed = true
        return Effect.fail(failure)
      })
      return Effect.retry(attempt, { while: retryable, schedule: transientRetry })
    })
  }

const isTagged = (error: unknown, tag: string): boolean =>
  typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === tag

export const isSqlError = (error: unknown): error is SqlError => isTagged(error, "SqlError")

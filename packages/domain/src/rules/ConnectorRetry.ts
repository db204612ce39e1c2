/**
 * The retry rules of connector sends, as pure functions. A chat message loses its worth by the hour, so
 * the schedule is shorter than the webhooks' one: about 1 s, 5 s, 30 s, 2 min, 10 min, 30 min and 1 h,
 * eight attempts over about 1 h 45 min, each wait jittered and never shorter than the provider asked for.
 */

const second = 1000
const minute = 60 * second

/** The waits after the 1st, 2nd, ... failed attempt. */
export const schedule: ReadonlyArray<number> = [
  second,
  5 * second,
  30 * second,
  2 * minute,
  10 * minute,
  30 * minute,
  60 * minute,
]

/** Attempts in all: the first and one per wait of the schedule. */
export const maxAttempts = schedule.length + 1

/** Each wait is spread by up to this fraction either way, so that retries of many sends do not bunch. */
export const jitter = 0.2

/**
 * The wait after the `failures`-th failed attempt (1 for the first), scaled by `scale`
 * (`CHAT4ALL_CONNECTORS_RETRY_SCALE`, for tests) and jittered by `random` in [0, 1); none when that
 * attempt was the last. The provider's own hint (`retryAfterMs`) is a floor and is not scaled: it is
 * what the provider will accept, not a choice of ours.
 */
export const retryDelay = (
  failures: number,
  options: { readonly scale: number; readonly random: number; readonly retryAfterMs?: number | undefined },
): number | undefined => {
  const base = schedule[failures - 1]
  if (base === undefined) return undefined
  const spread = 1 + jitter * (2 * Math.min(Math.max(options.random, 0), 1) - 1)
  const scheduled = Math.max(0, Math.round(base * options.scale * spread))
  return Math.max(scheduled, Math.max(0, Math.round(options.retryAfterMs ?? 0)))
}

/** What one send came to, as far as retrying goes. */
export type Attempt =
  | { readonly _tag: "Sent" }
  | {
      readonly _tag: "Failed"
      readonly retryable: boolean
      readonly retryAfterMs?: number | undefined
      readonly detail: string
    }

/** Where a send goes after an attempt; `failures` counts the failed attempts, this one included. */
export type Settlement =
  | { readonly status: "succeeded"; readonly failures: number }
  | {
      readonly status: "pending"
      readonly failures: number
      readonly nextAttemptAt: number
      readonly error: string
    }
  | { readonly status: "failed"; readonly failures: number; readonly error: string }

/**
 * The settlement of an attempt made at `now` after `failuresBefore` failed ones: succeeded; retried
 * after the scheduled wait (at least the provider's); failed at once when the error cannot be retried;
 * failed after the last attempt.
 */
export const settle = (
  attempt: Attempt,
  options: {
    readonly failuresBefore: number
    readonly now: number
    readonly scale: number
    readonly random: number
  },
): Settlement => {
  if (attempt._tag === "Sent") return { status: "succeeded", failures: options.failuresBefore }
  const failures = options.failuresBefore + 1
  if (!attempt.retryable) return { status: "failed", failures, error: attempt.detail }
  const wait = retryDelay(failures, {
    scale: options.scale,
    random: options.random,
    retryAfterMs: attempt.retryAfterMs,
  })
  return wait === undefined
    ? {
        status: "failed",
        failures,
        error: `${attempt.detail} (gave up after ${failures} attempts)`,
      }
    : { status: "pending", failures, nextAttemptAt: options.now + wait, error: attempt.detail }
}

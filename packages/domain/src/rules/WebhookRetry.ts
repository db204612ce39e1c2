import type { EventType } from "../model/Event.js"
import type { EventFilter } from "../model/Webhook.js"

/**
 * The rules of webhook delivery, as pure functions: which endpoint gets which event, what an answer
 * means, and when the next attempt is due.
 */

/** True when an endpoint with this filter receives events of this type. */
export const matches = (filter: EventFilter, type: EventType | string): boolean =>
  filter.some((entry) => entry === "*" || entry === type)

const second = 1000
const minute = 60 * second
const hour = 60 * minute

/**
 * The waits before each retry, after the 1st, 2nd, ... failed attempt: about 5 s, 5 min, 30 min, 2 h,
 * 5 h, 10 h and 10 h (the Standard Webhooks reference schedule), so eight attempts over about 28 hours.
 */
export const schedule: ReadonlyArray<number> = [
  5 * second,
  5 * minute,
  30 * minute,
  2 * hour,
  5 * hour,
  10 * hour,
  10 * hour,
]

/** Attempts in one series: the first and one per wait of the schedule. */
export const maxAttempts = schedule.length + 1

/** Each wait is spread by up to this fraction either way, so that retries of many deliveries do not bunch. */
export const jitter = 0.2

/**
 * The wait after the `failures`-th failed attempt of a series (1 for the first), scaled by `scale`
 * (`CHAT4ALL_WEBHOOKS_RETRY_SCALE`) and jittered by `random` in [0, 1); none when that was the last.
 */
export const retryDelay = (failures: number, scale: number, random: number): number | undefined => {
  const base = schedule[failures - 1]
  if (base === undefined) return undefined
  const spread = 1 + jitter * (2 * Math.min(Math.max(random, 0), 1) - 1)
  return Math.max(0, Math.round(base * scale * spread))
}

/** What one attempt came to, from the sender. */
export type Answer =
  | { readonly _tag: "Answered"; readonly statusCode: number }
  | { readonly _tag: "NoAnswer"; readonly error: string }

/** 2xx is done; 410 Gone means the receiver wants no more and the endpoint is disabled; anything else is retried. */
export type Verdict = "delivered" | "gone" | "retry"

export const verdict = (answer: Answer): Verdict =>
  answer._tag === "NoAnswer"
    ? "retry"
    : answer.statusCode >= 200 && answer.statusCode < 300
      ? "delivered"
      : answer.statusCode === 410
        ? "gone"
        : "retry"

/** Where a delivery goes after an attempt. `failures` counts the failed attempts of the series, this one included. */
export type Settlement =
  | { readonly status: "succeeded"; readonly failures: number }
  | { readonly status: "pending"; readonly failures: number; readonly nextAttemptAt: number }
  | { readonly status: "failed"; readonly failures: number; readonly disable?: { readonly reason: string } }

/**
 * The settlement of an attempt made at `now` after `failuresBefore` failed attempts of its series:
 * delivered, retried after the scheduled wait, failed for good after the last attempt, or failed with
 * the endpoint disabled on 410 Gone.
 */
export const settle = (
  answer: Answer,
  options: {
    readonly failuresBefore: number
    readonly now: number
    readonly scale: number
    readonly random: number
  },
): Settlement => {
  const outcome = verdict(answer)
  if (outcome === "delivered") return { status: "succeeded", failures: options.failuresBefore }
  const failures = options.failuresBefore + 1
  if (outcome === "gone")
    return {
      status: "failed",
      failures,
      disable: { reason: `the endpoint answered 410 Gone at ${new Date(options.now).toISOString()}` },
    }
  const wait = retryDelay(failures, options.scale, options.random)
  return wait === undefined
    ? { status: "failed", failures }
    : { status: "pending", failures, nextAttemptAt: options.now + wait }
}

import { Errors } from "@chat4all/domain"
import { Clock, Context, Effect, Layer, Metric, Schedule } from "effect"
import * as AppConfig from "../config.js"
import { rateLimited } from "../observability/Metrics.js"

interface Bucket {
  tokens: number
  at: number
}

/**
 * Token buckets per key (here: tenant, user and conversation of a send). A bucket holds `burst` tokens
 * and refills at `perSecond`; a request takes one or is refused with the time until one is back.
 */
export class SendRateLimiter extends Context.Tag("@chat4all/app/SendRateLimiter")<
  SendRateLimiter,
  { readonly take: (key: string) => Effect.Effect<void, Errors.RateLimited> }
>() {}

/** Buckets that are full again hold no information: a sweep drops them so memory stays bounded. */
const sweepEvery = "30 seconds"

export const make = (options: { readonly perSecond: number; readonly burst: number }) =>
  Effect.gen(function* () {
    const buckets = new Map<string, Bucket>()
    const perMs = options.perSecond / 1000
    const refill = (bucket: Bucket, now: number) => {
      bucket.tokens = Math.min(options.burst, bucket.tokens + (now - bucket.at) * perMs)
      bucket.at = now
    }
    yield* Clock.currentTimeMillis.pipe(
      Effect.tap((now) => {
        for (const [key, bucket] of buckets) {
          refill(bucket, now)
          if (bucket.tokens >= options.burst) buckets.delete(key)
        }
        return Effect.void
      }),
      Effect.repeat(Schedule.spaced(sweepEvery)),
      Effect.forkScoped,
    )
    return SendRateLimiter.of({
      take: (key) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          let bucket = buckets.get(key)
          if (bucket === undefined) {
            bucket = { tokens: options.burst, at: now }
            buckets.set(key, bucket)
          } else refill(bucket, now)
          if (bucket.tokens >= 1) {
            bucket.tokens -= 1
            return Effect.void
          }
          const retryAfterMs = Math.ceil((1 - bucket.tokens) / perMs)
          return Effect.zipRight(
            Metric.increment(rateLimited),
            Effect.fail(new Errors.RateLimited({ retryAfterMs })),
          )
        }),
    })
  })

/** A limiter that never refuses (CHAT4ALL_RATE_LIMITS=off). */
export const unlimited = SendRateLimiter.of({ take: () => Effect.void })

/** From CHAT4ALL_RATE_LIMITS, CHAT4ALL_RATE_LIMIT_SENDS_PER_S and CHAT4ALL_RATE_LIMIT_SENDS_BURST. */
export const layerConfig = Layer.scoped(
  SendRateLimiter,
  Effect.gen(function* () {
    if ((yield* AppConfig.rateLimits) === "off") {
      yield* Effect.logInfo("rate limits are off (CHAT4ALL_RATE_LIMITS=off)")
      return unlimited
    }
    return yield* make({ perSecond: yield* AppConfig.sendRatePerSecond, burst: yield* AppConfig.sendBurst })
  }),
)

/** The key of a user's sends to one conversation. */
export const sendKey = (tenantId: string, userId: string, conversationId: string) =>
  `${tenantId}\u0000${userId}\u0000${conversationId}`

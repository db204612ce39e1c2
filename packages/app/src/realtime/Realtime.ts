import { Gateway, Signals, UpgradeRouting } from "@chat4all/adapters/ws"
import { Caller, type Errors } from "@chat4all/domain"
import { Config, Context, Effect, Layer, Option } from "effect"
import { TokenVerifier } from "../auth/Jwt.js"
import * as AppConfig from "../config.js"
import { SendRateLimiter, sendKey } from "../http/RateLimiter.js"
import { fromEvent } from "../wire/Event.js"
import { fromMessage } from "../wire/Message.js"

/** The WebSocket endpoint (API.md). */
export const path = "/v1/ws"

/**
 * Gateway settings: `CHAT4ALL_WS_HEARTBEAT_MS` (25000), `CHAT4ALL_WS_MAX_BUFFERED_BYTES` (1 MiB unsent
 * per connection before 4008), `CHAT4ALL_WS_FRAMES_PER_S` / `CHAT4ALL_WS_FRAMES_BURST` (20 / 60 frames
 * per connection; off with `CHAT4ALL_RATE_LIMITS=off`).
 */
export const options = Effect.gen(function* () {
  const limits = yield* AppConfig.rateLimits
  const heartbeatMs = yield* Config.integer("CHAT4ALL_WS_HEARTBEAT_MS").pipe(
    Config.withDefault(Gateway.defaults.heartbeatMs),
  )
  const maxBufferedBytes = yield* Config.integer("CHAT4ALL_WS_MAX_BUFFERED_BYTES").pipe(
    Config.withDefault(Gateway.defaults.maxBufferedBytes),
  )
  const perSecond = yield* Config.number("CHAT4ALL_WS_FRAMES_PER_S").pipe(
    Config.withDefault(Gateway.defaults.rateLimit?.perSecond ?? 20),
  )
  const burst = yield* Config.integer("CHAT4ALL_WS_FRAMES_BURST").pipe(
    Config.withDefault(Gateway.defaults.rateLimit?.burst ?? 60),
  )
  return {
    ...Gateway.defaults,
    heartbeatMs,
    maxBufferedBytes,
    rateLimit: limits === "off" ? undefined : { perSecond, burst },
  } satisfies Gateway.Options
})

/**
 * The gateway's hooks into the app: tokens checked by the same verifier as the HTTP API (an expired or
 * bad token closes with 4001; an unreachable key set is a server failure, 1011), events and messages
 * rendered by the same wire encoders as HTTP, and sends under the same per-user rate limit.
 */
export const hooks = Effect.gen(function* () {
  const verifier = yield* TokenVerifier
  const limiter = yield* SendRateLimiter
  return {
    authenticate: (token) =>
      verifier.verify(token).pipe(
        Effect.catchTags({
          TokenRejected: (error) => Effect.fail(new Gateway.Unauthorized({ reason: error.reason })),
          KeySetUnavailable: (error) =>
            Effect.dieMessage(`the key set that verifies tokens could not be read: ${error.reason}`),
        }),
        Effect.map((claims) => ({
          caller: new Caller.Caller({ tenantId: claims.tid, userId: claims.sub, role: claims.role }),
          expiresAt: claims.exp * 1000,
        })),
      ),
    encodeEvent: fromEvent,
    encodeMessage: fromMessage,
    beforeSend: (caller, conversationId) =>
      limiter
        .take(sendKey(caller.tenantId, caller.userId, conversationId))
        .pipe(Effect.mapError((error: Errors.RateLimited) => ({ code: error.code, message: error.message }))),
  } satisfies Gateway.Hooks
})

/**
 * The gateway on the app's HTTP server at `/v1/ws`. It needs the engine's services and the fanout;
 * realtime signals come from the transport (NATS) when it provides them, otherwise they stay in this
 * process. On a server that does not route upgrades (a plain `NodeHttpServer`), the gateway runs but is
 * not reachable, and says so.
 */
export const layer = Layer.scoped(
  Gateway.Gateway,
  Effect.gen(function* () {
    const found = yield* Effect.serviceOption(Signals.Signals)
    const signals = Option.isSome(found)
      ? found.value
      : Context.get(yield* Layer.build(Signals.layerMemory), Signals.Signals)
    const gateway = yield* Gateway.make(yield* hooks, yield* options).pipe(
      Effect.provideService(Signals.Signals, signals),
    )
    const routes = yield* Effect.serviceOption(UpgradeRouting.UpgradeRoutes)
    if (Option.isNone(routes))
      yield* Effect.logInfo(`realtime: the HTTP server does not route upgrades; ${path} is not served`)
    else {
      const remove = routes.value.routeUpgrade(path, gateway.handleUpgrade)
      yield* Effect.addFinalizer(() => Effect.sync(remove))
    }
    return gateway
  }),
)

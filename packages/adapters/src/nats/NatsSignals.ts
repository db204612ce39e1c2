import { Effect, Either, Layer, PubSub, Runtime, Schema } from "effect"
import { Signal, Signals } from "../ws/Signals.js"
import { encodeToken, validPrefix } from "./internal/tokens.js"
import { NatsClient, unavailable } from "./NatsClient.js"

export interface Options {
  /** Signals go to `<prefix>.signals.<tenant>` with core NATS (no JetStream: they are not kept). */
  readonly subjectPrefix: string
}

const encode = Schema.encodeSync(Schema.parseJson(Signal))
const decode = Schema.decodeUnknownEither(Schema.parseJson(Signal))

/**
 * Typing and presence signals between nodes over core NATS: at most once, fire and forget, which is what
 * ephemeral indicators need. One subscription per node feeds a local PubSub.
 */
export const make = (options: Options) =>
  Effect.gen(function* () {
    if (!validPrefix(options.subjectPrefix))
      return yield* unavailable("configure the signals")(
        new Error(`the subject prefix ${JSON.stringify(options.subjectPrefix)} must be dot-separated tokens`),
      )
    const { connection } = yield* NatsClient
    const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<Signal>(), PubSub.shutdown)
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          connection.subscribe(`${options.subjectPrefix}.signals.>`, {
            callback: (error, message) => {
              if (error !== null)
                return void runFork(Effect.logWarning("NATS signals: subscription error", error))
              const signal = decode(message.string())
              if (Either.isRight(signal)) pubsub.unsafeOffer(signal.right)
              else runFork(Effect.logDebug(`NATS signals: dropped a malformed signal on ${message.subject}`))
            },
          }),
        catch: unavailable("subscribe to realtime signals"),
      }),
      (sub) => Effect.sync(() => sub.unsubscribe()),
    )
    return Signals.of({
      publish: (signal) =>
        Effect.try(() =>
          connection.publish(
            `${options.subjectPrefix}.signals.${encodeToken(signal.tenantId)}`,
            encode(signal),
          ),
        ).pipe(
          Effect.catchAll((error) =>
            Effect.logWarning(`NATS signals: dropped a ${signal._tag} signal`, error),
          ),
        ),
      subscribe: PubSub.subscribe(pubsub),
    })
  })

export const layer = (options: Options) => Layer.scoped(Signals, make(options))

import { Fanout } from "@chat4all/domain"
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection, type Status } from "@nats-io/transport-node"
import { Context, Duration, Effect, Layer, Runtime } from "effect"

/** One connection to NATS, shared by the fanout, presence and signals of a node. */
export class NatsClient extends Context.Tag("@chat4all/adapters/nats/NatsClient")<
  NatsClient,
  {
    readonly connection: NatsConnection
    readonly jetstream: JetStreamClient
    readonly manager: JetStreamManager
    /** The servers it was asked to connect to, for messages. */
    readonly servers: string
  }
>() {}

export interface Options {
  /** `nats://host:port`, or several separated by commas. */
  readonly servers: string
  /** The connection name the server shows (`nats server report connections`). */
  readonly name?: string | undefined
  /** How long the first connect may take. */
  readonly connectTimeout?: Duration.DurationInput | undefined
}

/** A NATS failure as the domain sees it: the fanout is unavailable, with what was being done and why. */
export const unavailable = (operation: string) => (cause: unknown) =>
  new Fanout.FanoutUnavailable({
    operation,
    cause: cause instanceof Error ? cause : new Error(String(cause)),
  })

/**
 * Connects (reconnecting forever after the first success, as the client does) and drains the connection
 * when the scope closes, so that nothing published is dropped on shutdown. A first connect that fails is
 * a `FanoutUnavailable` naming the servers.
 */
export const make = (options: Options) =>
  Effect.gen(function* () {
    const connection = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          connect({
            servers: options.servers.split(",").map((s) => s.trim()),
            name: options.name ?? "chat4all",
            timeout: Duration.toMillis(options.connectTimeout ?? "5 seconds"),
            maxReconnectAttempts: -1,
            reconnectTimeWait: 500,
          }),
        catch: unavailable(`connect to NATS at ${options.servers}`),
      }),
      (nc) =>
        Effect.promise(() => nc.drain()).pipe(
          Effect.timeout("5 seconds"),
          Effect.catchAllCause((cause) =>
            Effect.zipRight(
              Effect.logWarning("NATS: draining the connection did not finish; closing it", cause),
              Effect.promise(() => nc.close()),
            ),
          ),
        ),
    )
    const manager = yield* Effect.tryPromise({
      try: () => jetstreamManager(connection),
      catch: unavailable(`reach JetStream at ${options.servers} (is the server started with -js?)`),
    })
    // Connection state changes, for the operator. The loop ends by itself when the connection closes
    // (interrupting a fiber parked on this iterator would wait for the next status that never comes).
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const report = (status: Status) => {
      switch (status.type) {
        case "disconnect":
        case "reconnecting":
        case "staleConnection":
        case "error":
          return Effect.logWarning(`NATS: ${status.type}`, JSON.stringify(status))
        case "reconnect":
          return Effect.logInfo(`NATS: reconnected to ${options.servers}`)
        default:
          return Effect.void
      }
    }
    void (async () => {
      for await (const status of connection.status()) runFork(report(status))
    })().catch(() => undefined)
    return NatsClient.of({ connection, jetstream: jetstream(connection), manager, servers: options.servers })
  })

export const layer = (options: Options): Layer.Layer<NatsClient, Fanout.FanoutUnavailable> =>
  Layer.scoped(NatsClient, make(options))

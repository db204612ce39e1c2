import { Config, Effect, Layer } from "effect"
import * as NatsClient from "./NatsClient.js"
import * as NatsFanout from "./NatsFanout.js"
import * as NatsPresence from "./NatsPresence.js"
import * as NatsSignals from "./NatsSignals.js"

export { NatsClient, NatsFanout, NatsPresence, NatsSignals }

/** Everything the NATS adapters need to know; one deployment shares one stream, bucket and prefix. */
export interface Options {
  readonly servers: string
  readonly stream: string
  readonly subjectPrefix: string
  readonly presenceBucket: string
  /** `memory` keeps nothing across a NATS restart (tests); `file` (default) does. */
  readonly storage?: "file" | "memory" | undefined
  readonly connectionName?: string | undefined
}

/** Fanout, Presence and realtime Signals over one NATS connection, drained when the layer closes. */
export const layer = (options: Options) =>
  Layer.mergeAll(
    NatsFanout.layer({
      ...NatsFanout.defaults,
      stream: options.stream,
      subjectPrefix: options.subjectPrefix,
      storage: options.storage ?? "file",
    }),
    NatsPresence.layer({
      ...NatsPresence.defaults,
      bucket: options.presenceBucket,
      storage: options.storage ?? "file",
    }),
    NatsSignals.layer({ subjectPrefix: options.subjectPrefix }),
  ).pipe(Layer.provide(NatsClient.layer({ servers: options.servers, name: options.connectionName })))

/**
 * The options from the environment: `NATS_URL` (required), `CHAT4ALL_NATS_STREAM` (CHAT4ALL_EVENTS),
 * `CHAT4ALL_NATS_SUBJECT_PREFIX` (chat4all), `CHAT4ALL_NATS_PRESENCE_BUCKET` (chat4all_presence).
 */
export const options: Config.Config<Options> = Config.all({
  servers: Config.string("NATS_URL"),
  stream: Config.string("CHAT4ALL_NATS_STREAM").pipe(Config.withDefault(NatsFanout.defaults.stream)),
  subjectPrefix: Config.string("CHAT4ALL_NATS_SUBJECT_PREFIX").pipe(
    Config.withDefault(NatsFanout.defaults.subjectPrefix),
  ),
  presenceBucket: Config.string("CHAT4ALL_NATS_PRESENCE_BUCKET").pipe(
    Config.withDefault(NatsPresence.defaults.bucket),
  ),
})

export const layerConfig = Layer.unwrapEffect(Effect.map(options, layer))

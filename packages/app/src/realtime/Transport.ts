import * as Memory from "@chat4all/adapters/memory"
import * as Nats from "@chat4all/adapters/nats"
import { Signals } from "@chat4all/adapters/ws"
import { Config, Effect, Layer, Option } from "effect"

/**
 * How events, presence and typing travel between nodes: NATS JetStream when `NATS_URL` is set (stream,
 * subject prefix and presence bucket from `CHAT4ALL_NATS_*`), otherwise within this process. Merged over
 * the storage layer, it replaces the storage's in-process Fanout and Presence.
 */
export const layerConfig = Layer.unwrapEffect(
  Effect.gen(function* () {
    const url = yield* Config.option(Config.string("NATS_URL"))
    if (Option.isNone(url) || url.value.trim() === "")
      return Layer.mergeAll(Memory.MemoryFanout.layer, Memory.MemoryPresence.layer, Signals.layerMemory)
    const options = yield* Nats.options
    yield* Effect.logInfo(`realtime: NATS at ${options.servers}, stream ${options.stream}`)
    return Nats.layer({ ...options, connectionName: `chat4all ${process.pid}` })
  }),
)

/** Where the fanout runs, for the start-up banner. */
export const description = Config.option(Config.string("NATS_URL")).pipe(
  Config.map((url) =>
    Option.isSome(url) && url.value.trim() !== "" ? `NATS JetStream at ${url.value}` : "in this process",
  ),
)

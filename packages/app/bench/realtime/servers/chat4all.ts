/**
 * Chat4All as `bench:realtime` runs it: the app composed as `chat4all serve` composes it (the gateway on
 * the HTTP port, the outbox relay, the fanout), with `memory` storage (argv[2], the default: the realtime
 * path alone) or `default` (what `serve` picks: DATABASE_URL or the embedded PostgreSQL). Rate limits are
 * off through CHAT4ALL_RATE_LIMITS. Prints `READY <url>`.
 */
import { HttpServer } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Logger, LogLevel } from "effect"
import * as App from "../../../src/App.js"
import * as Jwt from "../../../src/auth/Jwt.js"
import { RealtimeHttpServer, Transport } from "../../../src/realtime/index.js"
import * as Storage from "../../../src/Storage.js"

const program = Effect.gen(function* () {
  const storage = process.argv[2] === "default" ? yield* Storage.fromConfig : Storage.memory
  const app = App.layer(Layer.merge(storage.layer, Transport.layerConfig), storage).pipe(
    Layer.provideMerge(RealtimeHttpServer.layer({ port: 0, host: "127.0.0.1" })),
    Layer.provide(Jwt.layerConfig),
    Layer.provide(NodeContext.layer),
  )
  const context = yield* Layer.build(app)
  const address = yield* Effect.map(HttpServer.HttpServer, (server) => server.address).pipe(
    Effect.provide(context),
  )
  if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
  yield* Console.log(`READY http://127.0.0.1:${address.port}`)
  return yield* Effect.never
}).pipe(Effect.scoped)

// The bench stops servers with SIGTERM and does not wait for a graceful shutdown (or a profile written
// with --cpu-prof would wait for it too).
process.once("SIGTERM", () => process.exit(0))

program.pipe(
  Effect.provide(Logger.json),
  Logger.withMinimumLogLevel(LogLevel.Warning),
  NodeRuntime.runMain({ disablePrettyLogger: true }),
)
// The bench asks for a full garbage collection (SIGUSR2) before it reads the RSS.
process.on("SIGUSR2", () => (globalThis as { gc?: () => void }).gc?.())

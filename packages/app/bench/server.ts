/**
 * The app as the HTTP bench runs it: `memory` (every port in memory: the HTTP layer and the engine alone)
 * or `default` (what `chat4all serve` picks: the embedded PostgreSQL in DATA_DIR, or DATABASE_URL).
 * Listens on a free loopback port and prints `READY <url>`. Rate limits are off (CHAT4ALL_RATE_LIMITS).
 */
import { createServer } from "node:http"
import { HttpServer } from "@effect/platform"
import { NodeContext, NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Logger, LogLevel } from "effect"
import * as App from "../src/App.js"
import * as Jwt from "../src/auth/Jwt.js"
import * as Storage from "../src/Storage.js"

const program = Effect.gen(function* () {
  const storage = process.argv[2] === "memory" ? Storage.memory : yield* Storage.fromConfig
  const app = App.layer(storage.layer, storage).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provide(Jwt.layerConfig),
    Layer.provide(NodeContext.layer),
  )
  const context = yield* Layer.build(app)
  const address = Effect.map(HttpServer.HttpServer, (server) => server.address).pipe(Effect.provide(context))
  const bound = yield* address
  if (bound._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
  yield* Console.log(`READY http://127.0.0.1:${bound.port}`)
  return yield* Effect.never
}).pipe(Effect.scoped)

program.pipe(
  Effect.provide(Logger.json),
  Logger.withMinimumLogLevel(LogLevel.Warning),
  NodeRuntime.runMain({ disablePrettyLogger: true }),
)

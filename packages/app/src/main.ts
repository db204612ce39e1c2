import { HttpServer } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import * as App from "./App.js"
import * as Jwt from "./auth/Jwt.js"
import * as AppConfig from "./config.js"
import { RealtimeHttpServer, Transport } from "./realtime/index.js"
import type { Storage } from "./Storage.js"

export * as Storage from "./Storage.js"

/** Tells the operator where the server is and how to get a token (on stderr; logs go to stdout as JSON). */
const banner = (description: string) =>
  Effect.gen(function* () {
    const address = (yield* HttpServer.HttpServer).address
    const url = address._tag === "TcpAddress" ? `http://${address.hostname}:${address.port}` : address.path
    const verifier = yield* Jwt.TokenVerifier
    const tokens = verifier.algorithms.includes("HS256")
      ? "get a token:  npm start -s -- token --tenant acme --user alice   (or: chat4all token ...)"
      : "tokens:       from your identity provider (verified with CHAT4ALL_JWKS_URL)"
    yield* Console.error(
      [
        "",
        `Chat4All is listening on ${url}`,
        `  API docs:     ${url}/docs   (OpenAPI: ${url}/openapi.json)`,
        `  health:       ${url}/health   metrics: ${url}/metrics`,
        `  storage:      ${description}`,
        `  realtime:     ${url.replace(/^http/, "ws")}/v1/ws   (fanout: ${yield* Transport.description})`,
        `  ${tokens}`,
        "  stop:         Ctrl-C (SIGINT) or SIGTERM",
        "",
      ].join("\n"),
    )
    yield* Effect.logInfo("listening").pipe(Effect.annotateLogs({ url }))
  })

/** The server on PORT/HOST over the given storage, until interrupted (SIGINT/SIGTERM shut it down cleanly). */
export const serve = <E, R>(storage: Storage<E, R>) =>
  Effect.gen(function* () {
    const port = yield* AppConfig.port
    const host = yield* AppConfig.host
    // The HTTP server routes /v1/ws upgrades to the gateway; the transport (NATS when NATS_URL is set)
    // replaces the storage's in-process fanout and presence.
    const http = RealtimeHttpServer.layer({ port, host })
    const app = App.layer(Layer.merge(storage.layer, Transport.layerConfig), storage).pipe(
      Layer.provideMerge(Layer.mergeAll(http, Jwt.layerConfig)),
      Layer.provide(NodeContext.layer),
    )
    // Built first, so that the banner only appears once everything is up.
    const context = yield* Layer.build(app)
    yield* Effect.provide(banner(storage.description), context)
    return yield* Effect.never.pipe(
      Effect.onInterrupt(() =>
        Effect.logInfo("shutting down: closing the server, the relay and the database"),
      ),
    )
  }).pipe(Effect.scoped)

/**
 * The same broadcast server on `@effect/platform`: an HttpRouter route whose handler does
 * `req.upgrade` and uses the platform `Socket` (runRaw + writer). Used to decide between this and a raw
 * `ws` server for the gateway. Prints `READY <url>`.
 */
import { createServer } from "node:http"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"

type Write = (chunk: string) => Effect.Effect<void, unknown>
const rooms = new Map<string, Set<Write>>()

const ws = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const room = new URL(request.url, "http://x").searchParams.get("room") ?? "lobby"
  const socket = yield* request.upgrade
  const write = yield* socket.writer
  let members = rooms.get(room)
  if (members === undefined) {
    members = new Set()
    rooms.set(room, members)
  }
  const all = members
  all.add(write)
  yield* socket
    .runRaw((data) => {
      const frame = `{"type":"msg","body":${typeof data === "string" ? data : new TextDecoder().decode(data)}}`
      return Effect.forEach(all, (w) => w(frame), { discard: true })
    })
    .pipe(
      Effect.ensuring(Effect.sync(() => all.delete(write))),
      Effect.catchAll(() => Effect.void),
    )
  return HttpServerResponse.empty()
}).pipe(Effect.scoped)

const router = HttpRouter.empty.pipe(HttpRouter.get("/ws", ws))

const main = Effect.gen(function* () {
  const server = yield* HttpServer.HttpServer
  const address = server.address
  if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
  yield* Console.log(`READY ws://127.0.0.1:${address.port}/ws`)
  return yield* Effect.never
})

const app = HttpServer.serve(router).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
)
main.pipe(Effect.provide(app), NodeRuntime.runMain({ disablePrettyLogger: true }))
// The bench asks for a full garbage collection (SIGUSR2) before it reads the RSS.
process.on("SIGUSR2", () => (globalThis as { gc?: () => void }).gc?.())

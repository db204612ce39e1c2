/**
 * Runs the Chat4All HTTP API inside your own program: every port in memory, a loopback port of the
 * system's choosing, HS256 tokens with a secret of yours. Then it talks to itself over HTTP as a client
 * would, and stops.
 *
 *   npx tsx packages/app/examples/embed.ts
 */
import { createServer } from "node:http"
import { App, Jwt, Storage } from "@chat4all/app"
import { HttpServer } from "@effect/platform"
import { NodeContext, NodeHttpServer } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"

const secret = "an-example-secret-of-at-least-32-chars"

// The whole app over a storage choice (here: memory; `Storage.fromConfig` gives what `chat4all serve` uses).
const app = App.layer(Storage.memory.layer, Storage.memory).pipe(
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provide(Layer.succeed(Jwt.TokenVerifier, Jwt.hs256(secret))),
  Layer.provide(NodeContext.layer),
)

const program = Effect.gen(function* () {
  const address = (yield* HttpServer.HttpServer).address
  if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
  const base = `http://127.0.0.1:${address.port}`
  const token = yield* Jwt.sign(secret, { sub: "alice", tid: "acme" }, 3600)
  const call = (method: string, path: string, body?: unknown) =>
    Effect.promise(async () => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      return { status: response.status, body: (await response.json()) as Record<string, unknown> }
    })

  const created = yield* call("POST", "/v1/conversations", {
    type: "group",
    members: ["bob"],
    title: "Launch",
  })
  const id = created.body.id as string
  yield* Console.log(`created conversation ${id}: ${created.status}`)
  const sent = yield* call("POST", `/v1/conversations/${id}/messages`, {
    clientMessageId: "hello-1",
    content: { type: "text", text: "Hello, Bob!" },
  })
  yield* Console.log(`sent message seq ${sent.body.seq}: ${sent.status}`)
  const replay = yield* call("POST", `/v1/conversations/${id}/messages`, {
    clientMessageId: "hello-1",
    content: { type: "text", text: "Hello, Bob!" },
  })
  yield* Console.log(`sent it again: ${replay.status}, the same message ${replay.body.id === sent.body.id}`)
  const list = yield* call("GET", "/v1/conversations")
  const [first] = list.body.items as Array<{ title: string; lastMessage: { content: { text: string } } }>
  yield* Console.log(
    `alice's conversations: "${first?.title}", last message "${first?.lastMessage.content.text}"`,
  )
})

Effect.runPromise(program.pipe(Effect.provide(app))).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  },
)

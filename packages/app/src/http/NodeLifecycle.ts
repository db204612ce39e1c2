import type * as Http from "node:http"
import { Effect } from "effect"

const startingBody = JSON.stringify({
  type: "urn:chat4all:problem:starting",
  title: "Starting",
  status: 503,
  code: "starting",
  detail: "the server is starting (opening the database); retry in a moment",
})

/**
 * Until the app attaches its request handler (which happens once storage is open, seconds after the port
 * is bound), requests are answered 503 `starting` with `Retry-After: 1` instead of being left hanging.
 */
export const answerWhileStarting = (server: Http.Server): void => {
  const starting = (_request: Http.IncomingMessage, response: Http.ServerResponse) => {
    response.writeHead(503, {
      "content-type": "application/problem+json",
      "content-length": Buffer.byteLength(startingBody),
      "retry-after": "1",
      connection: "close",
    })
    response.end(startingBody)
  }
  const onNewListener = (event: string | symbol) => {
    if (event !== "request") return
    server.off("request", starting)
    server.off("newListener", onNewListener)
  }
  server.on("request", starting)
  server.on("newListener", onNewListener)
}

/** How long requests in flight get to finish when the server stops, before their connections are cut. */
export const shutdownGraceMs = 5_000

/**
 * A finalizer to run before the server closes: idle keep-alive connections go at once, and whatever is
 * still open after the grace period (a long-poll, a stuck client) is cut, so that shutdown always ends.
 */
export const closeConnections = (server: Http.Server, graceMs: number = shutdownGraceMs) =>
  Effect.sync(() => {
    server.closeIdleConnections()
    setTimeout(() => server.closeAllConnections(), graceMs).unref()
  })

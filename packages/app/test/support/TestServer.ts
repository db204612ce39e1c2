import { createServer } from "node:http"
import { HttpServer } from "@effect/platform"
import { NodeContext, NodeHttpServer } from "@effect/platform-node"
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import * as App from "../../src/App.js"
import * as Jwt from "../../src/auth/Jwt.js"
import type { Storage } from "../../src/Storage.js"

/** The HS256 secret test servers verify with. */
export const secret = "chat4all-test-secret-0123456789abcdef"

export interface Reply {
  readonly status: number
  readonly headers: Headers
  // biome-ignore lint/suspicious/noExplicitAny: a JSON body under test is checked field by field
  readonly body: any
  readonly text: string
}

export interface RequestOptions {
  readonly token?: string | undefined
  readonly body?: unknown
  /** Sent as is (for malformed JSON and odd content types). */
  readonly raw?: string | Uint8Array | undefined
  readonly headers?: Record<string, string> | undefined
}

export interface TestServer {
  readonly url: string
  readonly request: (method: string, path: string, options?: RequestOptions) => Promise<Reply>
  readonly token: (
    claims: { tid: string; sub: string; role?: string },
    ttlSeconds?: number,
  ) => Promise<string>
  readonly close: () => Promise<void>
}

/** An app on 127.0.0.1, port 0, over `storage`, with `env` as its configuration (rate limits, ...). */
export const start = async <E>(
  storage: Storage<E, never>,
  env: Record<string, string> = {},
  verifier: Jwt.TokenVerifier["Type"] = Jwt.hs256(secret),
): Promise<TestServer> => {
  const http = NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })
  const app = App.layer(storage.layer, storage).pipe(
    Layer.provideMerge(http),
    Layer.provide(Layer.succeed(Jwt.TokenVerifier, verifier)),
    Layer.provide(NodeContext.layer),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))),
  )
  const runtime = ManagedRuntime.make(app)
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  const url = `http://127.0.0.1:${address.port}`

  const request = async (method: string, path: string, options: RequestOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    let body: string | Uint8Array | undefined = options.raw
    if (options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers["content-type"] ??= "application/json"
    }
    const response = await fetch(
      `${url}${path}`,
      body === undefined ? { method, headers } : { method, headers, body },
    )
    const text = await response.text()
    let parsed: unknown
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined
    } catch {
      parsed = undefined
    }
    return { status: response.status, headers: response.headers, body: parsed, text }
  }

  return {
    url,
    request,
    token: (claims, ttlSeconds = 3600) => Effect.runPromise(Jwt.sign(secret, claims, ttlSeconds)),
    close: () => runtime.dispose(),
  }
}

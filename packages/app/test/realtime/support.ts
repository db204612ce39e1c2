import { randomUUID } from "node:crypto"
import { HttpServer } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import WebSocket from "ws"
import * as App from "../../src/App.js"
import * as Jwt from "../../src/auth/Jwt.js"
import { RealtimeHttpServer, Transport } from "../../src/realtime/index.js"
import * as Storage from "../../src/Storage.js"

export const secret = "chat4all-realtime-test-secret-0123456789"

export interface AppServer {
  readonly url: string
  readonly wsUrl: string
  readonly token: (tenant: string, user: string, ttlSeconds?: number) => Promise<string>
  /** A JSON request to the HTTP API as `token`. */
  readonly http: (
    method: string,
    path: string,
    token: string,
    body?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: a JSON body under test is checked field by field
  ) => Promise<{ readonly status: number; readonly body: any }>
  readonly close: () => Promise<void>
}

/**
 * The app composed as `chat4all serve` composes it (HTTP server routing /v1/ws, the transport merged over
 * the storage), on 127.0.0.1 port 0, with `env` as its configuration.
 */
export const startApp = async (
  env: Record<string, string> = {},
  storage: Storage.Storage<unknown, never> = Storage.memory,
): Promise<AppServer> => {
  const config = Layer.setConfigProvider(
    ConfigProvider.fromMap(new Map(Object.entries({ CHAT4ALL_JWT_SECRET: secret, ...env }))),
  )
  const app = App.layer(Layer.merge(storage.layer, Transport.layerConfig), storage).pipe(
    Layer.provideMerge(RealtimeHttpServer.layer({ port: 0, host: "127.0.0.1" })),
    Layer.provide(Layer.succeed(Jwt.TokenVerifier, Jwt.hs256(secret))),
    Layer.provide(NodeContext.layer),
    Layer.provide(config),
  )
  const runtime = ManagedRuntime.make(app)
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  const url = `http://127.0.0.1:${address.port}`
  return {
    url,
    wsUrl: `ws://127.0.0.1:${address.port}/v1/ws`,
    token: (tenant, user, ttlSeconds = 3600) =>
      Effect.runPromise(Jwt.sign(secret, { tid: tenant, sub: user }, ttlSeconds)),
    http: async (method, path, token, body) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await response.text()
      return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
    },
    close: () => runtime.dispose(),
  }
}

export interface Frame {
  readonly type: string
  // biome-ignore lint/suspicious/noExplicitAny: frames under test are checked field by field
  readonly [key: string]: any
}

/** A WebSocket client keeping every frame, for tests to wait on. */
export class WsClient {
  readonly frames: Array<Frame> = []
  private waiters: Array<() => void> = []
  closeCode: number | undefined
  closeReason = ""
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.frames.push(JSON.parse(data.toString()) as Frame)
      this.wake()
    })
    ws.on("error", () => {})
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => {
        this.closeCode = code
        this.closeReason = reason.toString()
        this.wake()
        resolve({ code, reason: this.closeReason })
      }),
    )
  }

  static connect(url: string, token: string, cursor?: string): WsClient {
    const target = new URL(url)
    target.searchParams.set("access_token", token)
    if (cursor !== undefined) target.searchParams.set("cursor", cursor)
    return new WsClient(new WebSocket(target))
  }

  private wake() {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }

  async waitFor(match: (frame: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.frames.find(match)
      if (found !== undefined) return found
      if (this.closeCode !== undefined)
        throw new Error(`closed (${this.closeCode} ${this.closeReason}) before a matching frame`)
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(
          `no matching frame in ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 1500)}`,
        )
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  async request(frame: Record<string, unknown>): Promise<Frame> {
    const id = randomUUID()
    this.ws.send(JSON.stringify({ ...frame, id }))
    return this.waitFor((f) => f.type === "reply" && f.id === id)
  }

  events(): Array<Frame> {
    return this.frames.filter((f) => f.type === "event")
  }

  close(): Promise<{ readonly code: number; readonly reason: string }> {
    if (this.closeCode === undefined) this.ws.close(1000)
    return this.closed
  }
}

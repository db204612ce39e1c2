import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, type Scope } from "effect"
import type { ProviderStatus } from "./InboundEvent.js"
import type { WebhookRequest } from "./WebhookRequest.js"

/**
 * Provider stand-ins: HTTP servers on loopback that speak a provider's published API (the send endpoint,
 * its errors, its auth) and produce the webhooks the provider would send, signed as it signs them. The
 * conformance kit drives a connector against one; integration tests of delivery workers and webhook
 * endpoints can use them too. Nothing here imports vitest.
 */

/** A request the stand-in received, as it arrived. */
export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** A send the stand-in accepted, read back from the provider's wire shape. */
export interface SentMessage {
  readonly to: string
  readonly text: string
  readonly providerMessageId: string
}

/**
 * What the next request gets instead of a normal answer: an HTTP error as the provider words it (with
 * `Retry-After` or the provider's own hint when `retryAfterSeconds` is set), the connection dropped, no
 * answer at all, or a redirect.
 */
export type InjectedFailure =
  | { readonly _tag: "Status"; readonly status: number; readonly retryAfterSeconds?: number | undefined }
  | { readonly _tag: "Disconnect" }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Redirect"; readonly location: string }

/** How a simulated webhook is signed: correctly, with another secret, or not at all. */
export type Signing = "valid" | "wrong-secret" | "missing"

/** A message a person sends to the tenant, as the provider identifies it. */
export interface SimulatedMessage {
  readonly kind: "message"
  readonly providerMessageId: string
  readonly from: string
  readonly text: string
  /** Epoch milliseconds, whole seconds (some providers carry seconds only). */
  readonly at: number
}

/** A provider's status report on a message sent through it. */
export interface SimulatedStatus {
  readonly kind: "status"
  readonly providerMessageId: string
  readonly status: ProviderStatus
  readonly recipient: string
  readonly at: number
}

export type SimulatedEvent = SimulatedMessage | SimulatedStatus

/** Settings variations the kit asks a stand-in for. */
export interface SettingsOptions {
  readonly timeoutMs?: number | undefined
  /** `invalid` gives credentials the stand-in refuses, as the provider would. */
  readonly credentials?: "valid" | "invalid" | undefined
}

/** A provider stand-in, as the conformance kit drives it. */
export interface StandIn {
  /** The registry name of the connector it stands in for. */
  readonly provider: string
  /** Where it listens (`http://127.0.0.1:<port>`): the connector's `baseUrl`. */
  readonly baseUrl: string
  /** The credentials and webhook secrets it uses; they must never show in a connector's output. */
  readonly secrets: ReadonlyArray<string>
  /** Settings input for the connector under test, pointing at this stand-in. */
  readonly settings: (options?: SettingsOptions) => Record<string, unknown>
  /** A fresh address the provider accepts, in the connector's canonical form. */
  readonly newAddress: () => string
  /**
   * `body` when webhooks carry a signature over the body (Meta's HMAC), `token` when they carry a shared
   * secret only (Telegram): a tampered body is detectable only with `body`.
   */
  readonly verification: "body" | "token"
  /** The statuses the provider reports by webhook (none for Telegram). */
  readonly statuses: ReadonlyArray<ProviderStatus>
  /** The sends it accepted, oldest first. */
  readonly sent: Effect.Effect<ReadonlyArray<SentMessage>>
  /** Every request it received, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /** Queues a failure for the next request (failures queue up, one per request). */
  readonly failNext: (failure: InjectedFailure) => Effect.Effect<void>
  /** Forgets requests, sends and queued failures. */
  readonly reset: Effect.Effect<void>
  /** A new inbound message with an id the provider assigns, as it would assign it. */
  readonly inboundMessage: (input: {
    readonly from: string
    readonly text: string
    readonly at: number
  }) => SimulatedMessage
  /**
   * The webhook requests that carry these events, batched as the provider batches them (Meta puts many
   * in one request, Telegram sends one update per request). The same events give byte-identical
   * requests, as a provider's redelivery does.
   */
  readonly webhooks: (
    events: ReadonlyArray<SimulatedEvent>,
    signing?: Signing,
  ) => ReadonlyArray<WebhookRequest>
  /** A webhook request with this exact body, signed as asked. */
  readonly signedRequest: (body: Uint8Array, signing?: Signing) => WebhookRequest
  /** The provider's subscription handshake, when it has one. */
  readonly handshake?:
    | ((options: {
        readonly token: "valid" | "wrong" | "missing"
        readonly challenge: string
        readonly mode?: string | undefined
      }) => WebhookRequest)
    | undefined
}

/** An answer of a stand-in route. */
export interface Answer {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body: unknown
}

/** The generic part of a stand-in: a loopback server that records requests and injects failures. */
export interface LoopbackServer {
  readonly url: string
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly failNext: (failure: InjectedFailure) => Effect.Effect<void>
  readonly reset: Effect.Effect<void>
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const flatHeaders = (req: IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(req.headers))
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(", ") : value
  return out
}

const write = (res: ServerResponse, answer: Answer) => {
  const body = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body)
  const isJson = typeof answer.body !== "string"
  res.writeHead(answer.status, {
    ...(isJson ? { "content-type": "application/json; charset=utf-8" } : {}),
    ...answer.headers,
  })
  res.end(body)
}

/**
 * Serves `handle` on `127.0.0.1` on a free port for the life of the scope. Each request is recorded,
 * then answered by the next queued failure (rendered by `renderFailure` for status failures) or by
 * `handle`. Closing the scope drops open connections, hung ones included.
 */
export const listen = (options: {
  readonly handle: (request: RecordedRequest) => Answer
  readonly renderFailure: (status: number, retryAfterSeconds: number | undefined) => Answer
}): Effect.Effect<LoopbackServer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const recorded: Array<RecordedRequest> = []
    const failures: Array<InjectedFailure> = []
    const server: Server = createServer((req, res) => {
      readBody(req).then(
        (body) => {
          const url = new URL(req.url ?? "/", "http://stand-in")
          const request: RecordedRequest = {
            method: req.method ?? "GET",
            path: url.pathname,
            query: Object.fromEntries(url.searchParams),
            headers: flatHeaders(req),
            body,
          }
          recorded.push(request)
          const failure = failures.shift()
          if (failure === undefined) return write(res, safely(options.handle, request))
          switch (failure._tag) {
            case "Status":
              return write(res, options.renderFailure(failure.status, failure.retryAfterSeconds))
            case "Disconnect":
              return req.socket.destroy()
            case "Hang":
              return
            case "Redirect":
              return write(res, { status: 307, headers: { location: failure.location }, body: "" })
          }
        },
        () => req.socket.destroy(),
      )
    })
    const url = yield* Effect.acquireRelease(
      Effect.async<string>((resume) => {
        server.listen(0, "127.0.0.1", () => {
          const address = server.address() as AddressInfo
          resume(Effect.succeed(`http://127.0.0.1:${address.port}`))
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        }),
    )
    return {
      url,
      requests: Effect.sync(() => [...recorded]),
      failNext: (failure) => Effect.sync(() => void failures.push(failure)),
      reset: Effect.sync(() => {
        recorded.length = 0
        failures.length = 0
      }),
    }
  })

const safely = (handle: (request: RecordedRequest) => Answer, request: RecordedRequest): Answer => {
  try {
    return handle(request)
  } catch (error) {
    return { status: 500, body: { error: `stand-in failed: ${String(error)}` } }
  }
}

/** Parses a JSON body, or `undefined`. */
export const jsonBody = (request: RecordedRequest): unknown => {
  try {
    return JSON.parse(request.body) as unknown
  } catch {
    return undefined
  }
}

/** A random decimal string of `length` digits, not starting with 0. */
export const digits = (length: number): string => {
  let out = String(1 + Math.floor(Math.random() * 9))
  while (out.length < length) out += String(Math.floor(Math.random() * 10))
  return out
}

import * as Http from "node:http"
import * as Https from "node:https"
import type { LookupFunction } from "node:net"
import { WebhookSender } from "@chat4all/domain"
import { Config, Duration, Effect, Layer } from "effect"
import * as Signature from "./Signature.js"
import * as SsrfGuard from "./SsrfGuard.js"

export interface Options extends SsrfGuard.Options {
  /** The longest an attempt may take, lookup and connection included, until the status line: 15 s. */
  readonly timeout?: Duration.DurationInput | undefined
}

export const defaultTimeout = Duration.seconds(15)
export const userAgent = "Chat4All-Webhooks/1.0 (+https://www.standardwebhooks.com)"
/** How much of a response body is read (and thrown away) before the connection is dropped. */
const maxDrainBytes = 64 * 1024

/** A lookup that answers the address the guard judged, whatever the name: DNS is not asked again. */
const pinned =
  (address: string, family: 4 | 6): LookupFunction =>
  (_hostname, options, callback) => {
    if (options.all)
      (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
        { address, family },
      ])
    else callback(null, address, family)
  }

interface Response {
  readonly statusCode: number
  readonly location: string | undefined
}

/** POSTs `body` to the target, connecting to its judged address only; redirects are not followed. */
const post = (target: SsrfGuard.Target, headers: Record<string, string>, body: string) =>
  Effect.async<Response, string>((resume) => {
    let settled = false
    const done = (outcome: Effect.Effect<Response, string>) => {
      if (settled) return
      settled = true
      resume(outcome)
    }
    const https = target.url.protocol === "https:"
    const request = (https ? Https : Http).request({
      protocol: target.url.protocol,
      hostname: target.hostname,
      ...(target.url.port === "" ? {} : { port: Number(target.url.port) }),
      path: `${target.url.pathname}${target.url.search}`,
      method: "POST",
      headers,
      agent: false,
      lookup: pinned(target.address, target.family),
    })
    request.on("response", (response) => {
      done(Effect.succeed({ statusCode: response.statusCode ?? 0, location: response.headers.location }))
      // The status is all that counts; read a little of the body so the receiver can finish, then let go.
      let seen = 0
      const timer = setTimeout(() => response.destroy(), 5_000)
      timer.unref()
      response.on("data", (chunk: Buffer) => {
        seen += chunk.length
        if (seen > maxDrainBytes) response.destroy()
      })
      response.on("close", () => clearTimeout(timer))
      response.on("error", () => undefined)
    })
    request.on("error", (error: NodeJS.ErrnoException) =>
      done(Effect.fail(error.message || String(error.code))),
    )
    request.end(body)
    return Effect.sync(() => request.destroy())
  })

/**
 * The WebhookSender over node:http and node:https: the SSRF guard on every send (the host is resolved,
 * every address judged, and the connection pinned to the judged one), Standard Webhooks headers, a 15 s
 * limit, no redirects (a 3xx is an answer like any other non-2xx: the delivery is retried).
 */
export const make = (options: Options): WebhookSender.WebhookSender["Type"] => {
  const guard = SsrfGuard.make(options)
  const timeout = options.timeout ?? defaultTimeout

  const check: WebhookSender.WebhookSender["Type"]["check"] = (url) =>
    guard.check(url).pipe(
      Effect.map((target) => target.url.href),
      Effect.mapError((reason) => new WebhookSender.UnsafeWebhookUrl({ url, reason })),
    )

  const send: WebhookSender.WebhookSender["Type"]["send"] = (request) =>
    Effect.gen(function* () {
      const start = performance.now()
      const elapsed = () => Math.round(performance.now() - start)
      const headers = {
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(request.body)),
        "user-agent": userAgent,
        "webhook-id": request.webhookId,
        "webhook-timestamp": String(request.timestamp),
        "webhook-signature": Signature.header(
          request.secrets,
          request.webhookId,
          request.timestamp,
          request.body,
        ),
      }
      const outcome = yield* Effect.either(
        guard.check(request.url).pipe(
          Effect.mapError((reason) => `refused: ${reason}`),
          Effect.flatMap((target) => post(target, headers, request.body)),
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () => `no answer within ${Duration.format(timeout)}`,
          }),
        ),
      )
      if (outcome._tag === "Left")
        return { _tag: "NoAnswer", error: outcome.left, durationMs: elapsed() } as const
      const { statusCode, location } = outcome.right
      return {
        _tag: "Answered",
        statusCode,
        durationMs: elapsed(),
        ...(statusCode >= 300 && statusCode < 400
          ? { note: `redirect${location === undefined ? "" : ` to ${location}`} not followed` }
          : {}),
      } as const
    })

  return WebhookSender.WebhookSender.of({ check, newSecret: Effect.sync(Signature.newSecret), send })
}

export const layer = (options: Options): Layer.Layer<WebhookSender.WebhookSender> =>
  Layer.succeed(WebhookSender.WebhookSender, make(options))

/** `CHAT4ALL_WEBHOOKS_ALLOW_PRIVATE` (default false) decides whether private targets are allowed. */
export const allowPrivate = Config.boolean("CHAT4ALL_WEBHOOKS_ALLOW_PRIVATE").pipe(Config.withDefault(false))

/** The sender configured from the environment. */
export const layerConfig = Layer.effect(
  WebhookSender.WebhookSender,
  Effect.map(allowPrivate, (allow) => make({ allowPrivate: allow })),
)

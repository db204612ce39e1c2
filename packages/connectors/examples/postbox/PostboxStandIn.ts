/**
 * A loopback stand-in of the Postbox API, for the conformance kit: it checks requests the way Postbox
 * would, answers in Postbox's shapes, and produces Postbox's signed webhooks.
 */
import { createHmac, randomBytes, randomUUID } from "node:crypto"
import { StandIn, WebhookRequest } from "@chat4all/connectors/stand-ins"
import { Effect, type Scope } from "effect"

const error = (status: number, code: string, message: string, headers?: Record<string, string>) => ({
  status,
  headers,
  body: { error: { code, message } },
})

export const make: Effect.Effect<StandIn.StandIn, never, Scope.Scope> = Effect.gen(function* () {
  const apiKey = `pbx_${randomBytes(16).toString("hex")}`
  const webhookSecret = `pbx_whsec_${randomBytes(16).toString("hex")}`
  const sent: Array<StandIn.SentMessage> = []

  const server = yield* StandIn.listen({
    handle: (request) => {
      if (request.headers.authorization !== `Bearer ${apiKey}`)
        return error(401, "unauthorized", "bad API key")
      if (request.method === "GET" && request.path === "/v1/account")
        return { status: 200, body: { ok: true } }
      if (request.method !== "POST" || request.path !== "/v1/messages")
        return error(404, "not_found", "no route")
      const body = StandIn.jsonBody(request) as { to?: unknown; text?: unknown } | undefined
      if (typeof body?.to !== "string" || !/^\+[0-9]{8,15}$/.test(body.to))
        return error(400, "invalid_to", "to must be + and digits")
      if (typeof body.text !== "string" || body.text.length === 0 || body.text.length > 1600)
        return error(400, "invalid_text", "text must be 1-1600 characters")
      const id = `pbx_msg_${randomUUID()}`
      sent.push({ to: body.to, text: body.text, providerMessageId: id })
      return { status: 201, body: { id } }
    },
    renderFailure: (status, retryAfter) =>
      error(status, status === 429 ? "rate_limited" : "failure", "injected failure", {
        ...(retryAfter === undefined ? {} : { "retry-after": String(retryAfter) }),
      }),
  })

  const sign = (body: Uint8Array, signing: StandIn.Signing) =>
    WebhookRequest.make({
      method: "POST",
      url: "/webhook",
      headers:
        signing === "missing"
          ? {}
          : {
              "postbox-signature": createHmac(
                "sha256",
                signing === "valid" ? webhookSecret : "another-secret",
              )
                .update(body)
                .digest("hex"),
            },
      body,
    })

  return {
    provider: "postbox",
    baseUrl: server.url,
    secrets: [apiKey, webhookSecret],
    settings: (options) => ({
      baseUrl: server.url,
      apiKey: options?.credentials === "invalid" ? `${apiKey}x` : apiKey,
      webhookSecret,
      ...(options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    }),
    newAddress: () => `+1555${StandIn.digits(7)}`,
    verification: "body",
    statuses: ["delivered", "read", "failed"],
    sent: Effect.sync(() => [...sent]),
    requests: server.requests,
    failNext: server.failNext,
    reset: Effect.zipRight(
      server.reset,
      Effect.sync(() => {
        sent.length = 0
      }),
    ),
    inboundMessage: (input) => ({ kind: "message", providerMessageId: `pbx_msg_${randomUUID()}`, ...input }),
    webhooks: (events, signing = "valid") => {
      const wire = events.map((e) =>
        e.kind === "message"
          ? { type: "message", id: e.providerMessageId, from: e.from, text: e.text, at: e.at }
          : { type: "status", messageId: e.providerMessageId, status: e.status, at: e.at },
      )
      return [sign(new TextEncoder().encode(JSON.stringify({ events: wire })), signing)]
    },
    signedRequest: (body, signing = "valid") => sign(body, signing),
  }
})

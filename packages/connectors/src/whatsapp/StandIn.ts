import { randomBytes } from "node:crypto"
import { Effect, type Scope } from "effect"
import * as Meta from "../internal/metaStandIn.js"
import * as StandIn from "../StandIn.js"

/**
 * A loopback stand-in of the WhatsApp Cloud API: `POST /{version}/{phone-number-id}/messages` and
 * `GET /{version}/{phone-number-id}` with Bearer auth, Graph error envelopes, and webhooks in the
 * `whatsapp_business_account` envelope signed with `X-Hub-Signature-256`.
 */

const versionPattern = /^v[0-9]{1,3}\.[0-9]{1,2}$/

const wamid = () => `wamid.${randomBytes(24).toString("base64url")}`

export const make: Effect.Effect<StandIn.StandIn, never, Scope.Scope> = Effect.gen(function* () {
  const accessToken = Meta.randomToken("wa-token")
  const appSecret = Meta.randomToken("wa-app-secret")
  const verifyToken = Meta.randomToken("wa-verify")
  const phoneNumberId = StandIn.digits(15)
  const wabaId = StandIn.digits(15)
  const sent: Array<StandIn.SentMessage> = []

  const handle = (request: StandIn.RecordedRequest): StandIn.Answer => {
    const [version, objectId, edge, ...rest] = request.path.split("/").filter((p) => p !== "")
    if (version === undefined || !versionPattern.test(version) || rest.length > 0)
      return Meta.graphError(400, { message: "Unknown path components", code: 2500 })
    if (Meta.bearerOf(request.headers) !== accessToken) return Meta.invalidToken()
    if (objectId !== phoneNumberId)
      return Meta.graphError(400, {
        message: `Unsupported ${request.method.toLowerCase()} request. Object with ID '${objectId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
        code: 100,
        subcode: 33,
      })
    if (request.method === "GET" && edge === undefined)
      return {
        status: 200,
        body: { verified_name: "Chat4All Stand-in", display_phone_number: "+1 555-0100", id: phoneNumberId },
      }
    if (request.method !== "POST" || edge !== "messages")
      return Meta.graphError(400, { message: "Unknown path components", code: 2500 })
    if (!(request.headers["content-type"] ?? "").startsWith("application/json"))
      return Meta.graphError(400, {
        message: "(#100) The parameter messaging_product is required.",
        code: 100,
      })
    const body = StandIn.jsonBody(request) as
      | { messaging_product?: unknown; to?: unknown; type?: unknown; text?: { body?: unknown } }
      | undefined
    const invalid = (message: string) => Meta.graphError(400, { message: `(#100) ${message}`, code: 100 })
    if (body?.messaging_product !== "whatsapp") return invalid("The parameter messaging_product is required.")
    if (typeof body.to !== "string" || !/^\+?[0-9]{8,15}$/.test(body.to))
      return Meta.graphError(400, {
        message: "(#131009) Parameter value is not valid",
        code: 131009,
        details: "Recipient phone number is not a valid WhatsApp phone number",
      })
    if (body.type !== "text") return invalid("Param type must be one of {TEXT, IMAGE, ...}")
    const text = body.text?.body
    if (typeof text !== "string" || text.length === 0)
      return invalid("The parameter text['body'] is required.")
    if (text.length > 4096) return invalid("Param text['body'] must be at most 4096 characters long.")
    const id = wamid()
    const waId = body.to.replace(/^\+/, "")
    sent.push({ to: waId, text, providerMessageId: id })
    return {
      status: 200,
      body: {
        messaging_product: "whatsapp",
        contacts: [{ input: body.to, wa_id: waId }],
        messages: [{ id, message_status: "accepted" }],
      },
    }
  }

  const server = yield* StandIn.listen({
    handle,
    renderFailure: (status, retryAfter) =>
      Meta.renderGraphFailure(status, retryAfter, {
        code: 130429,
        message: "(#130429) Rate limit hit: Cloud API message throughput has been reached.",
      }),
  })

  const value = (events: ReadonlyArray<StandIn.SimulatedEvent>) => {
    const messages = events.filter((e): e is StandIn.SimulatedMessage => e.kind === "message")
    const statuses = events.filter((e): e is StandIn.SimulatedStatus => e.kind === "status")
    return {
      messaging_product: "whatsapp",
      metadata: { display_phone_number: "15550100", phone_number_id: phoneNumberId },
      ...(messages.length === 0
        ? {}
        : {
            contacts: [...new Set(messages.map((m) => m.from))].map((from) => ({
              profile: { name: `Person ${from.slice(-4)}` },
              wa_id: from,
            })),
            messages: messages.map((m) => ({
              from: m.from,
              id: m.providerMessageId,
              timestamp: String(Math.floor(m.at / 1000)),
              type: "text",
              text: { body: m.text },
            })),
          }),
      ...(statuses.length === 0
        ? {}
        : {
            statuses: statuses.map((s) => ({
              id: s.providerMessageId,
              status: s.status,
              timestamp: String(Math.floor(s.at / 1000)),
              recipient_id: s.recipient,
              ...(s.status === "failed"
                ? {
                    errors: [
                      {
                        code: 131026,
                        title: "Message undeliverable",
                        message: "Message undeliverable",
                        error_data: { details: "Message Undeliverable." },
                      },
                    ],
                  }
                : {
                    conversation: {
                      id: "c0nversation",
                      origin: { type: "service" },
                    },
                    pricing: { billable: true, pricing_model: "CBP", category: "service" },
                  }),
            })),
          }),
    }
  }

  return {
    provider: "whatsapp",
    baseUrl: server.url,
    secrets: [accessToken, appSecret, verifyToken],
    settings: (options) => ({
      baseUrl: server.url,
      apiVersion: "v21.0",
      phoneNumberId,
      accessToken: options?.credentials === "invalid" ? `${accessToken}-revoked` : accessToken,
      appSecret,
      verifyToken,
      ...(options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    }),
    newAddress: () => `55${StandIn.digits(11)}`,
    verification: "body",
    statuses: ["sent", "delivered", "read", "failed"],
    sent: Effect.sync(() => [...sent]),
    requests: server.requests,
    failNext: server.failNext,
    reset: Effect.zipRight(
      server.reset,
      Effect.sync(() => {
        sent.length = 0
      }),
    ),
    inboundMessage: (input) => ({ kind: "message", providerMessageId: wamid(), ...input }),
    // Meta batches several changes into one delivery; three per request exercises the batching.
    webhooks: (events, signing = "valid") => {
      const requests = []
      for (let i = 0; i < events.length; i += 3) {
        const body = Meta.encode({
          object: "whatsapp_business_account",
          entry: [{ id: wabaId, changes: [{ field: "messages", value: value(events.slice(i, i + 3)) }] }],
        })
        requests.push(Meta.signedPost(appSecret, body, signing))
      }
      return requests
    },
    signedRequest: (body, signing = "valid") => Meta.signedPost(appSecret, body, signing),
    handshake: (options) => Meta.handshakeRequest(verifyToken, options),
  }
})

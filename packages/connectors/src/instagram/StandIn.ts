import { randomBytes } from "node:crypto"
import { Effect, type Scope } from "effect"
import * as Meta from "../internal/metaStandIn.js"
import * as StandIn from "../StandIn.js"

/**
 * A loopback stand-in of Instagram messaging on the Graph API: `POST /{version}/me/messages` and
 * `GET /{version}/me` with Bearer auth, Graph error envelopes, and `object: "instagram"` webhooks
 * (messages and `read` receipts) signed with `X-Hub-Signature-256`.
 */

const versionPattern = /^v[0-9]{1,3}\.[0-9]{1,2}$/

/** Instagram message ids are opaque base64 strings starting `aWdf` ("ig_"). */
const mid = () => `aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE${randomBytes(24).toString("base64url")}`

export const make: Effect.Effect<StandIn.StandIn, never, Scope.Scope> = Effect.gen(function* () {
  const accessToken = Meta.randomToken("ig-token")
  const appSecret = Meta.randomToken("ig-app-secret")
  const verifyToken = Meta.randomToken("ig-verify")
  const accountId = StandIn.digits(17)
  const sent: Array<StandIn.SentMessage> = []

  const handle = (request: StandIn.RecordedRequest): StandIn.Answer => {
    const [version, node, edge, ...rest] = request.path.split("/").filter((p) => p !== "")
    if (version === undefined || !versionPattern.test(version) || node !== "me" || rest.length > 0)
      return Meta.graphError(400, { message: "Unknown path components", code: 2500 })
    if (Meta.bearerOf(request.headers) !== accessToken) return Meta.invalidToken()
    if (request.method === "GET" && edge === undefined)
      return { status: 200, body: { id: accountId, username: "chat4all.standin" } }
    if (request.method !== "POST" || edge !== "messages")
      return Meta.graphError(400, { message: "Unknown path components", code: 2500 })
    const body = StandIn.jsonBody(request) as
      | { recipient?: { id?: unknown }; message?: { text?: unknown } }
      | undefined
    const recipient = body?.recipient?.id
    if (typeof recipient !== "string" || !/^[0-9]{1,32}$/.test(recipient))
      return Meta.graphError(400, {
        message: "(#100) The parameter recipient is required",
        code: 100,
      })
    const text = body?.message?.text
    if (typeof text !== "string" || text.length === 0)
      return Meta.graphError(400, {
        message: "(#100) Message cannot be empty, must provide valid attachment or text",
        code: 100,
      })
    if (text.length > 1000)
      return Meta.graphError(400, {
        message: "(#100) Length of param message[text] must be less than or equal to 1000",
        code: 100,
      })
    const id = mid()
    sent.push({ to: recipient, text, providerMessageId: id })
    return { status: 200, body: { recipient_id: recipient, message_id: id } }
  }

  const server = yield* StandIn.listen({
    handle,
    renderFailure: (status, retryAfter) =>
      Meta.renderGraphFailure(status, retryAfter, {
        code: 613,
        message: "(#613) Calls to this api have exceeded the rate limit.",
      }),
  })

  const item = (event: StandIn.SimulatedEvent) =>
    event.kind === "message"
      ? {
          sender: { id: event.from },
          recipient: { id: accountId },
          timestamp: event.at,
          message: { mid: event.providerMessageId, text: event.text },
        }
      : {
          sender: { id: event.recipient },
          recipient: { id: accountId },
          timestamp: event.at,
          read: { mid: event.providerMessageId },
        }

  return {
    provider: "instagram",
    baseUrl: server.url,
    secrets: [accessToken, appSecret, verifyToken],
    settings: (options) => ({
      baseUrl: server.url,
      apiVersion: "v21.0",
      accountId,
      accessToken: options?.credentials === "invalid" ? `${accessToken}-revoked` : accessToken,
      appSecret,
      verifyToken,
      ...(options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    }),
    newAddress: () => StandIn.digits(16),
    verification: "body",
    statuses: ["read"],
    sent: Effect.sync(() => [...sent]),
    requests: server.requests,
    failNext: server.failNext,
    reset: Effect.zipRight(
      server.reset,
      Effect.sync(() => {
        sent.length = 0
      }),
    ),
    inboundMessage: (input) => ({ kind: "message", providerMessageId: mid(), ...input }),
    // Meta batches: up to four messaging items per entry, two entries per request.
    webhooks: (events, signing = "valid") => {
      const requests = []
      for (let i = 0; i < events.length; i += 8) {
        const chunk = events.slice(i, i + 8)
        const entries = []
        for (let j = 0; j < chunk.length; j += 4)
          entries.push({ id: accountId, time: chunk[j]?.at ?? 0, messaging: chunk.slice(j, j + 4).map(item) })
        requests.push(
          Meta.signedPost(appSecret, Meta.encode({ object: "instagram", entry: entries }), signing),
        )
      }
      return requests
    },
    signedRequest: (body, signing = "valid") => Meta.signedPost(appSecret, body, signing),
    handshake: (options) => Meta.handshakeRequest(verifyToken, options),
  }
})

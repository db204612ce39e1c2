/**
 * A complete connector for "Postbox", a small made-up messaging provider, written the way
 * docs/connectors.md describes. It passes the conformance kit (test/example.conformance.test.ts).
 *
 * Postbox's API:
 * - `POST {baseUrl}/v1/messages` with `Authorization: Bearer <apiKey>` and `{to, text}` answers
 *   `201 {id}`; errors are `{error: {code, message}}` with an HTTP status, and 429 carries `Retry-After`.
 * - Webhooks are `{events: [...]}`, each event `{type: "message", id, from, text, at}` or
 *   `{type: "status", messageId, status, at}`, signed with `Postbox-Signature: <hex HMAC-SHA256 of the
 *   raw body keyed with the webhook secret>`.
 * - Addresses are phone numbers, `+` and digits.
 */
import {
  type Capabilities,
  type Connector,
  ConnectorFactory,
  ConnectorSettings,
  InboundEvent,
  InvalidAddress,
  InvalidSignature,
  MalformedWebhook,
  Outbound,
  ProviderHttp,
  Signature,
  WebhookRequest,
} from "@chat4all/connectors"
import { Effect, Either, Option, Redacted, Schema } from "effect"

export const name = "postbox"

// 1. Settings: the common fields (enabled, baseUrl, timeoutMs) plus the provider's own; secrets as Secret.
export const Settings = Schema.Struct({
  ...ConnectorSettings.commonFields("https://api.postbox.example"),
  apiKey: ConnectorSettings.Secret,
  webhookSecret: ConnectorSettings.Secret,
})
export type Settings = typeof Settings.Type

// 2. Addresses: one canonical form, so identities and inbound senders match.
export const normalizeAddress = (address: string): Either.Either<string, InvalidAddress> => {
  const digits = address.replace(/[\s().-]/g, "")
  return /^\+[1-9][0-9]{7,14}$/.test(digits)
    ? Either.right(digits)
    : Either.left(new InvalidAddress({ connector: name, address, expected: "+ and 8-15 digits" }))
}

// 3. The provider's wire shapes, decoded with Schema; anything else is malformed.
const Sent = Schema.Struct({ id: Schema.String })
const ProviderError = Schema.Struct({ error: Schema.Struct({ code: Schema.String, message: Schema.String }) })
const Event = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("message"),
    id: Schema.String,
    from: Schema.String,
    text: Schema.String,
    at: Schema.Number,
  }),
  Schema.Struct({
    type: Schema.Literal("status"),
    messageId: Schema.String,
    status: Schema.Literal("delivered", "read", "failed"),
    at: Schema.Number,
  }),
)
const Body = Schema.parseJson(Schema.Struct({ events: Schema.Array(Event) }))

export const make = (settings: Settings): Connector => {
  const capabilities: Capabilities = {
    channel: name,
    enabled: settings.enabled,
    contentTypes: ["text", "system"],
    maxTextLength: 1600,
    receipts: ["delivered", "read", "failed"],
  }
  const secrets = [settings.apiKey, settings.webhookSecret]
  return {
    name,
    capabilities,
    normalizeAddress,

    // 4. send: the shared checks, one HTTP call, then classify the answer.
    send: (delivery) =>
      Effect.gen(function* () {
        const text = yield* Outbound.text(name, capabilities, delivery)
        const to = yield* Outbound.address(name, normalizeAddress, delivery)
        const response = yield* ProviderHttp.request({
          connector: name,
          method: "POST",
          url: `${settings.baseUrl}/v1/messages`,
          headers: { authorization: `Bearer ${Redacted.value(settings.apiKey)}` },
          json: { to, text },
          timeoutMs: settings.timeoutMs,
          secrets,
        })
        if (response.status >= 200 && response.status < 300) {
          const sent = Schema.decodeUnknownOption(Sent)(response.json)
          if (Option.isNone(sent)) return yield* ProviderHttp.badResponse(name, response, "{id}")
          return { providerMessageId: sent.value.id }
        }
        const error = Schema.decodeUnknownOption(ProviderError)(response.json)
        const detail = Option.match(error, {
          onNone: () => `answered HTTP ${response.status}`,
          onSome: ({ error }) => `${error.code}: ${error.message}`,
        })
        return yield* Effect.flip(ProviderHttp.statusError(name, response, detail))
      }),

    // 5. inbound: verify the signature over the raw bytes first, then parse.
    inbound: (request) =>
      Effect.gen(function* () {
        const check = Signature.verifyHexHmac({
          header: WebhookRequest.header(request, "postbox-signature"),
          prefix: "",
          secret: settings.webhookSecret,
          body: request.body,
        })
        if (check !== "valid")
          return yield* new InvalidSignature({ connector: name, reason: check, header: "Postbox-Signature" })
        const body = yield* Schema.decodeUnknown(Body)(WebhookRequest.text(request)).pipe(
          Effect.mapError(
            (e) => new MalformedWebhook({ connector: name, detail: e.message.split("\n")[0] ?? "" }),
          ),
        )
        const events = body.events.map((event) =>
          event.type === "message"
            ? new InboundEvent.InboundMessage({
                connector: name,
                providerMessageId: event.id,
                from: event.from,
                content: { type: "text", text: event.text },
                at: event.at,
              })
            : new InboundEvent.StatusUpdate({
                connector: name,
                providerMessageId: event.messageId,
                status: event.status,
                at: event.at,
              }),
        )
        return { events, ignored: [] }
      }),

    // 6. probe: the cheapest authenticated call the provider has.
    probe: Effect.gen(function* () {
      const response = yield* ProviderHttp.request({
        connector: name,
        method: "GET",
        url: `${settings.baseUrl}/v1/account`,
        headers: { authorization: `Bearer ${Redacted.value(settings.apiKey)}` },
        timeoutMs: settings.timeoutMs,
        secrets,
      })
      if (response.status < 200 || response.status >= 300)
        return yield* Effect.flip(
          ProviderHttp.statusError(name, response, `answered HTTP ${response.status}`),
        )
    }),
  }
}

// 7. The factory the registry holds.
export const factory = ConnectorFactory.define({
  name,
  description: "Postbox (example): text messages with delivery and read receipts",
  settings: Settings,
  make,
})

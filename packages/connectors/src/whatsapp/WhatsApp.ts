import { Effect, Either, Option, Redacted, Schema } from "effect"
import type { Capabilities, Connector } from "../Connector.js"
import { InvalidAddress, MalformedWebhook } from "../ConnectorError.js"
import * as ConnectorFactory from "../ConnectorFactory.js"
import * as ConnectorSettings from "../ConnectorSettings.js"
import { type InboundContent, type InboundEvent, InboundMessage, StatusUpdate } from "../InboundEvent.js"
import * as Json from "../internal/json.js"
import * as Meta from "../internal/meta.js"
import * as Outbound from "../Outbound.js"
import * as ProviderHttp from "../ProviderHttp.js"

/**
 * WhatsApp Business Cloud API (Meta Graph API).
 *
 * - Send: `POST {baseUrl}/{apiVersion}/{phoneNumberId}/messages`, `Authorization: Bearer <accessToken>`,
 *   `{messaging_product: "whatsapp", recipient_type: "individual", to, type: "text", text: {body}}`;
 *   the answer `{contacts: [{input, wa_id}], messages: [{id}]}` gives the `wamid` reference.
 * - Webhooks: `{object: "whatsapp_business_account", entry: [{changes: [{field: "messages",
 *   value: {metadata: {phone_number_id}, contacts, messages, statuses}}]}]}`, signed with
 *   `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>`.
 * - Handshake: `GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`.
 *
 * Addresses are phone numbers in international format; the canonical form is the digits alone
 * (`5511999990000`), which is how WhatsApp names senders (`wa_id`).
 */

export const name = "whatsapp"

/** WhatsApp's limit on a text message body. */
export const maxTextLength = 4096

export const Settings = Schema.Struct({
  ...ConnectorSettings.commonFields("https://graph.facebook.com"),
  apiVersion: Schema.optionalWith(ConnectorSettings.GraphApiVersion, { default: () => "v21.0" }),
  /** The business phone number's id in the Cloud API (not the number itself). */
  phoneNumberId: Schema.String.pipe(
    Schema.pattern(/^[0-9]{1,32}$/, {
      message: () => "must be the numeric phone number id of the Cloud API",
    }),
  ),
  /** A system-user access token with `whatsapp_business_messaging`. */
  accessToken: ConnectorSettings.Secret,
  /** The Meta app secret: webhook signatures are HMACs keyed with it. */
  appSecret: ConnectorSettings.Secret,
  /** The token you typed into the webhook configuration; the handshake must present it. */
  verifyToken: ConnectorSettings.Secret,
})
export type Settings = typeof Settings.Type

/** `+55 (11) 99999-0000` -> `5511999990000`: E.164 digits, 8 to 15 of them. */
export const normalizeAddress = (address: string): Either.Either<string, InvalidAddress> => {
  const digits = address
    .trim()
    .replace(/[\s().-]/g, "")
    .replace(/^\+/, "")
  return /^[1-9][0-9]{7,14}$/.test(digits)
    ? Either.right(digits)
    : Either.left(
        new InvalidAddress({
          connector: name,
          address,
          expected: "a phone number in international format, like +5511999990000",
        }),
      )
}

const SendAnswer = Schema.Struct({
  contacts: Schema.optional(Schema.Array(Schema.Struct({ wa_id: Schema.optional(Schema.String) }))),
  messages: Schema.NonEmptyArray(Schema.Struct({ id: Schema.String.pipe(Schema.minLength(1)) })),
})
const decodeSendAnswer = Schema.decodeUnknownOption(SendAnswer)

const Media = Schema.Struct({
  id: Schema.String,
  mime_type: Schema.optional(Schema.String),
  caption: Schema.optional(Schema.String),
  filename: Schema.optional(Schema.String),
  voice: Schema.optional(Schema.Boolean),
})

const WireMessage = Schema.Struct({
  from: Schema.String,
  id: Schema.String.pipe(Schema.minLength(1)),
  timestamp: Schema.Union(Schema.String, Schema.Number),
  type: Schema.String,
  text: Schema.optional(Schema.Struct({ body: Schema.String })),
  image: Schema.optional(Media),
  video: Schema.optional(Media),
  audio: Schema.optional(Media),
  document: Schema.optional(Media),
  sticker: Schema.optional(Media),
  button: Schema.optional(Schema.Struct({ text: Schema.String })),
  interactive: Schema.optional(
    Schema.Struct({
      button_reply: Schema.optional(Schema.Struct({ title: Schema.String })),
      list_reply: Schema.optional(Schema.Struct({ title: Schema.String })),
    }),
  ),
  context: Schema.optional(Schema.Struct({ id: Schema.optional(Schema.String) })),
})
type WireMessage = typeof WireMessage.Type

const WireStatus = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1)),
  status: Schema.String,
  timestamp: Schema.Union(Schema.String, Schema.Number),
  recipient_id: Schema.optional(Schema.String),
  errors: Schema.optional(
    Schema.Array(
      Schema.Struct({
        code: Schema.optional(Schema.Number),
        title: Schema.optional(Schema.String),
        message: Schema.optional(Schema.String),
        error_data: Schema.optional(Schema.Struct({ details: Schema.optional(Schema.String) })),
      }),
    ),
  ),
})

const Envelope = Schema.Struct({
  object: Schema.String,
  entry: Schema.Array(
    Schema.Struct({
      id: Schema.optional(Schema.String),
      changes: Schema.Array(
        Schema.Struct({
          field: Schema.optional(Schema.String),
          value: Schema.Struct({
            metadata: Schema.optional(Schema.Struct({ phone_number_id: Schema.optional(Schema.String) })),
            contacts: Schema.optional(
              Schema.Array(
                Schema.Struct({
                  wa_id: Schema.optional(Schema.String),
                  profile: Schema.optional(Schema.Struct({ name: Schema.optional(Schema.String) })),
                }),
              ),
            ),
            messages: Schema.optional(Schema.Array(Schema.Unknown)),
            statuses: Schema.optional(Schema.Array(Schema.Unknown)),
          }),
        }),
      ),
    }),
  ),
})

const decodeEnvelope = Schema.decodeUnknownEither(Envelope)
const decodeMessage = Schema.decodeUnknownEither(WireMessage)
const decodeStatus = Schema.decodeUnknownEither(WireStatus)

const mediaKinds = ["image", "video", "audio", "document", "sticker"] as const

const contentOf = (message: WireMessage): InboundContent => {
  if (message.type === "text" && message.text !== undefined) return { type: "text", text: message.text.body }
  if (message.type === "button" && message.button !== undefined)
    return { type: "text", text: message.button.text }
  if (message.type === "interactive") {
    const title = message.interactive?.button_reply?.title ?? message.interactive?.list_reply?.title
    if (title !== undefined) return { type: "text", text: title }
  }
  for (const kind of mediaKinds) {
    const media = message[kind]
    if (message.type === kind && media !== undefined)
      return {
        type: "media",
        kind: kind === "audio" && media.voice === true ? "voice" : kind,
        providerMediaId: media.id,
        ...(media.mime_type === undefined ? {} : { mimeType: media.mime_type }),
        ...(media.filename === undefined ? {} : { fileName: media.filename }),
        ...(media.caption === undefined ? {} : { caption: media.caption }),
      }
  }
  return { type: "unsupported", kind: message.type }
}

const statuses = new Set(["sent", "delivered", "read", "failed"])

const parse = (
  settings: Settings,
  body: unknown,
): Either.Either<{ events: Array<InboundEvent>; ignored: Array<string> }, MalformedWebhook> => {
  const envelope = decodeEnvelope(body)
  if (Either.isLeft(envelope))
    return Either.left(
      new MalformedWebhook({
        connector: name,
        detail: `not a WhatsApp webhook envelope: ${envelope.left.message}`,
      }),
    )
  if (envelope.right.object !== "whatsapp_business_account")
    return Either.left(
      new MalformedWebhook({
        connector: name,
        detail: `object is ${JSON.stringify(envelope.right.object)}, expected "whatsapp_business_account"`,
      }),
    )
  const events: Array<InboundEvent> = []
  const ignored: Array<string> = []
  for (const entry of envelope.right.entry)
    for (const change of entry.changes) {
      if (change.field !== undefined && change.field !== "messages") {
        ignored.push(`change of field ${change.field}`)
        continue
      }
      const value = change.value
      const account = value.metadata?.phone_number_id
      if (account !== settings.phoneNumberId) {
        ignored.push(
          `change for phone number id ${account ?? "(none)"}; this connector serves ${settings.phoneNumberId}`,
        )
        continue
      }
      for (const raw of value.messages ?? []) {
        const decoded = decodeMessage(raw)
        if (Either.isLeft(decoded)) {
          ignored.push(`unreadable message: ${decoded.left.message.split("\n")[0]}`)
          continue
        }
        const message = decoded.right
        const at = Meta.secondsToMillis(message.timestamp)
        const from = normalizeAddress(message.from)
        if (at === undefined || Either.isLeft(from)) {
          ignored.push(`message ${message.id} with an unreadable timestamp or sender`)
          continue
        }
        const senderName = value.contacts?.find((c) => c.wa_id === message.from)?.profile?.name
        const replyTo = message.context?.id
        events.push(
          new InboundMessage({
            connector: name,
            providerMessageId: message.id,
            from: from.right,
            account,
            content: contentOf(message),
            at,
            ...(senderName === undefined ? {} : { senderName }),
            ...(replyTo === undefined ? {} : { replyToProviderMessageId: replyTo }),
          }),
        )
      }
      for (const raw of value.statuses ?? []) {
        const decoded = decodeStatus(raw)
        if (Either.isLeft(decoded)) {
          ignored.push(`unreadable status: ${decoded.left.message.split("\n")[0]}`)
          continue
        }
        const status = decoded.right
        const at = Meta.secondsToMillis(status.timestamp)
        if (!statuses.has(status.status) || at === undefined) {
          ignored.push(`status ${JSON.stringify(status.status)} of ${status.id}`)
          continue
        }
        const error = status.errors?.[0]
        const detail =
          error === undefined
            ? undefined
            : [
                error.code === undefined ? undefined : `${error.code}:`,
                error.title ?? error.message ?? "failed",
                error.error_data?.details === undefined ? undefined : `- ${error.error_data.details}`,
              ]
                .filter((p) => p !== undefined)
                .join(" ")
        events.push(
          new StatusUpdate({
            connector: name,
            providerMessageId: status.id,
            status: status.status as StatusUpdate["status"],
            at,
            ...(status.recipient_id === undefined ? {} : { recipient: status.recipient_id }),
            ...(detail === undefined ? {} : { detail }),
          }),
        )
      }
    }
  return Either.right({ events, ignored })
}

/** The connector for one tenant's settings. */
export const make = (settings: Settings): Connector => {
  const capabilities: Capabilities = {
    channel: name,
    enabled: settings.enabled,
    contentTypes: ["text", "system"],
    maxTextLength,
    receipts: ["delivered", "read", "failed"],
  }
  const secrets = [settings.accessToken, settings.appSecret, settings.verifyToken]
  const graph = `${settings.baseUrl}/${settings.apiVersion}/${settings.phoneNumberId}`
  const authorization = () => ({ authorization: `Bearer ${Redacted.value(settings.accessToken)}` })

  return {
    name,
    capabilities,
    normalizeAddress,
    send: (delivery) =>
      Effect.gen(function* () {
        const text = yield* Outbound.text(name, capabilities, delivery)
        const to = yield* Outbound.address(name, normalizeAddress, delivery)
        const response = yield* ProviderHttp.request({
          connector: name,
          method: "POST",
          url: `${graph}/messages`,
          headers: authorization(),
          json: {
            messaging_product: "whatsapp",
            recipient_type: "individual",
            to,
            type: "text",
            text: { preview_url: false, body: text },
          },
          timeoutMs: settings.timeoutMs,
          secrets,
        })
        if (response.status < 200 || response.status >= 300)
          return yield* Effect.flip(Meta.graphFailure(name, response, secrets))
        const answer = decodeSendAnswer(response.json)
        if (Option.isNone(answer))
          return yield* ProviderHttp.badResponse(name, response, "{messages: [{id}]}")
        const recipient = answer.value.contacts?.[0]?.wa_id
        return { providerMessageId: answer.value.messages[0].id, recipient }
      }),
    inbound: (request) =>
      Effect.gen(function* () {
        yield* Meta.verifyHubSignature(name, request, settings.appSecret)
        const body = Json.parseBody(request.body)
        if (Option.isNone(body))
          return yield* new MalformedWebhook({ connector: name, detail: "the body is not UTF-8 JSON" })
        return yield* parse(settings, body.value)
      }),
    handshake: (request) => Meta.hubHandshake(name, request, settings.verifyToken),
    probe: Effect.gen(function* () {
      const response = yield* ProviderHttp.request({
        connector: name,
        method: "GET",
        url: `${graph}?fields=id,display_phone_number,verified_name`,
        headers: authorization(),
        timeoutMs: settings.timeoutMs,
        secrets,
      })
      if (response.status < 200 || response.status >= 300)
        return yield* Effect.flip(Meta.graphFailure(name, response, secrets))
    }),
  }
}

/** The registry entry. */
export const factory = ConnectorFactory.define({
  name,
  description: "WhatsApp Business Cloud API (Meta Graph API): text messages, delivery and read receipts",
  settings: Settings,
  make,
})

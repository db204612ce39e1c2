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
 * Instagram messaging (Messenger Platform, Graph API).
 *
 * - Send: `POST {baseUrl}/{apiVersion}/me/messages`, `Authorization: Bearer <accessToken>`,
 *   `{recipient: {id}, message: {text}}`; the answer is `{recipient_id, message_id}`.
 * - Webhooks: `{object: "instagram", entry: [{id, messaging: [...]}]}` where each item is a message
 *   (`{sender, recipient, timestamp, message: {mid, text, attachments}}`) or a read receipt
 *   (`{read: {mid}}`); signed with `X-Hub-Signature-256`. Echoes of our own sends are skipped.
 * - Handshake: `GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`.
 *
 * Addresses are Instagram-scoped ids (IGSID). For apps using Instagram Login, set `baseUrl` to
 * `https://graph.instagram.com`.
 */

export const name = "instagram"

/** Instagram's limit on a text message. */
export const maxTextLength = 1000

export const Settings = Schema.Struct({
  ...ConnectorSettings.commonFields("https://graph.facebook.com"),
  apiVersion: Schema.optionalWith(ConnectorSettings.GraphApiVersion, { default: () => "v21.0" }),
  /** The Instagram professional account's id; when set, webhooks for other accounts are skipped. */
  accountId: Schema.optional(
    Schema.String.pipe(
      Schema.pattern(/^[0-9]{1,32}$/, { message: () => "must be a numeric Instagram account id" }),
    ),
  ),
  /** A Page (or Instagram user) access token with `instagram_manage_messages`. */
  accessToken: ConnectorSettings.Secret,
  /** The Meta app secret: webhook signatures are HMACs keyed with it. */
  appSecret: ConnectorSettings.Secret,
  /** The token you typed into the webhook configuration; the handshake must present it. */
  verifyToken: ConnectorSettings.Secret,
})
export type Settings = typeof Settings.Type

/** An Instagram-scoped user id: digits. */
export const normalizeAddress = (address: string): Either.Either<string, InvalidAddress> => {
  const trimmed = address.trim()
  return /^[0-9]{1,32}$/.test(trimmed)
    ? Either.right(trimmed)
    : Either.left(
        new InvalidAddress({ connector: name, address, expected: "an Instagram-scoped user id (digits)" }),
      )
}

const SendAnswer = Schema.Struct({
  recipient_id: Schema.optional(Schema.String),
  message_id: Schema.String.pipe(Schema.minLength(1)),
})
const decodeSendAnswer = Schema.decodeUnknownOption(SendAnswer)

const Party = Schema.Struct({ id: Schema.String })

const WireItem = Schema.Struct({
  sender: Party,
  recipient: Party,
  timestamp: Schema.Number,
  message: Schema.optional(
    Schema.Struct({
      mid: Schema.String.pipe(Schema.minLength(1)),
      text: Schema.optional(Schema.String),
      is_echo: Schema.optional(Schema.Boolean),
      is_deleted: Schema.optional(Schema.Boolean),
      is_unsupported: Schema.optional(Schema.Boolean),
      reply_to: Schema.optional(Schema.Struct({ mid: Schema.optional(Schema.String) })),
      attachments: Schema.optional(
        Schema.Array(
          Schema.Struct({
            type: Schema.String,
            payload: Schema.optional(Schema.Struct({ url: Schema.optional(Schema.String) })),
          }),
        ),
      ),
    }),
  ),
  read: Schema.optional(Schema.Struct({ mid: Schema.String.pipe(Schema.minLength(1)) })),
})
type WireItem = typeof WireItem.Type

const Envelope = Schema.Struct({
  object: Schema.String,
  entry: Schema.Array(
    Schema.Struct({
      id: Schema.optional(Schema.String),
      messaging: Schema.optional(Schema.Array(Schema.Unknown)),
      changes: Schema.optional(Schema.Array(Schema.Struct({ field: Schema.optional(Schema.String) }))),
    }),
  ),
})

const decodeEnvelope = Schema.decodeUnknownEither(Envelope)
const decodeItem = Schema.decodeUnknownEither(WireItem)

const attachmentKinds: Record<string, "image" | "video" | "audio" | "document"> = {
  image: "image",
  video: "video",
  audio: "audio",
  file: "document",
}

const contentOf = (message: NonNullable<WireItem["message"]>): InboundContent => {
  if (message.text !== undefined) return { type: "text", text: message.text }
  const attachment = message.attachments?.[0]
  if (attachment !== undefined) {
    const kind = attachmentKinds[attachment.type]
    const url = attachment.payload?.url
    if (kind !== undefined && url !== undefined) return { type: "media", kind, providerMediaId: url }
    return { type: "unsupported", kind: attachment.type }
  }
  return { type: "unsupported", kind: message.is_unsupported === true ? "unsupported" : "empty" }
}

const parse = (
  settings: Settings,
  body: unknown,
): Either.Either<{ events: Array<InboundEvent>; ignored: Array<string> }, MalformedWebhook> => {
  const envelope = decodeEnvelope(body)
  if (Either.isLeft(envelope))
    return Either.left(
      new MalformedWebhook({
        connector: name,
        detail: `not an Instagram webhook envelope: ${envelope.left.message}`,
      }),
    )
  if (envelope.right.object !== "instagram")
    return Either.left(
      new MalformedWebhook({
        connector: name,
        detail: `object is ${JSON.stringify(envelope.right.object)}, expected "instagram"`,
      }),
    )
  const events: Array<InboundEvent> = []
  const ignored: Array<string> = []
  for (const entry of envelope.right.entry) {
    for (const change of entry.changes ?? []) ignored.push(`change of field ${change.field ?? "(unnamed)"}`)
    if (settings.accountId !== undefined && entry.id !== settings.accountId) {
      if ((entry.messaging ?? []).length > 0)
        ignored.push(`entry for account ${entry.id ?? "(none)"}; this connector serves ${settings.accountId}`)
      continue
    }
    for (const raw of entry.messaging ?? []) {
      const decoded = decodeItem(raw)
      if (Either.isLeft(decoded)) {
        ignored.push(`unreadable messaging item: ${decoded.left.message.split("\n")[0]}`)
        continue
      }
      const item = decoded.right
      if (item.message !== undefined) {
        const message = item.message
        if (message.is_echo === true) {
          ignored.push(`echo of our own message ${message.mid}`)
          continue
        }
        if (message.is_deleted === true) {
          ignored.push(`deletion of message ${message.mid}`)
          continue
        }
        const from = normalizeAddress(item.sender.id)
        if (Either.isLeft(from)) {
          ignored.push(`message ${message.mid} from an unreadable sender`)
          continue
        }
        const replyTo = message.reply_to?.mid
        events.push(
          new InboundMessage({
            connector: name,
            providerMessageId: message.mid,
            from: from.right,
            account: item.recipient.id,
            content: contentOf(message),
            at: item.timestamp,
            ...(replyTo === undefined ? {} : { replyToProviderMessageId: replyTo }),
          }),
        )
      } else if (item.read !== undefined) {
        events.push(
          new StatusUpdate({
            connector: name,
            providerMessageId: item.read.mid,
            status: "read",
            at: item.timestamp,
            recipient: item.sender.id,
          }),
        )
      } else {
        const kind = Object.keys(raw as object).find((k) => !["sender", "recipient", "timestamp"].includes(k))
        ignored.push(`messaging item ${kind ?? "(empty)"}`)
      }
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
    receipts: ["read"],
  }
  const secrets = [settings.accessToken, settings.appSecret, settings.verifyToken]
  const graph = `${settings.baseUrl}/${settings.apiVersion}`
  const authorization = () => ({ authorization: `Bearer ${Redacted.value(settings.accessToken)}` })

  return {
    name,
    capabilities,
    normalizeAddress,
    send: (delivery) =>
      Effect.gen(function* () {
        const text = yield* Outbound.text(name, capabilities, delivery)
        const recipient = yield* Outbound.address(name, normalizeAddress, delivery)
        const response = yield* ProviderHttp.request({
          connector: name,
          method: "POST",
          url: `${graph}/me/messages`,
          headers: authorization(),
          json: { recipient: { id: recipient }, message: { text } },
          timeoutMs: settings.timeoutMs,
          secrets,
        })
        if (response.status < 200 || response.status >= 300)
          return yield* Effect.flip(Meta.graphFailure(name, response, secrets))
        const answer = decodeSendAnswer(response.json)
        if (Option.isNone(answer))
          return yield* ProviderHttp.badResponse(name, response, "{recipient_id, message_id}")
        return { providerMessageId: answer.value.message_id, recipient: answer.value.recipient_id }
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
        url: `${graph}/me?fields=id,username`,
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
  description: "Instagram messaging (Messenger Platform, Graph API): text messages and read receipts",
  settings: Settings,
  make,
})

import { Effect, Either, Option, Redacted, Schema } from "effect"
import type { Capabilities, Connector } from "../Connector.js"
import { InvalidAddress, InvalidSignature, MalformedWebhook } from "../ConnectorError.js"
import * as ConnectorFactory from "../ConnectorFactory.js"
import * as ConnectorSettings from "../ConnectorSettings.js"
import { type InboundContent, InboundMessage } from "../InboundEvent.js"
import * as Json from "../internal/json.js"
import * as Outbound from "../Outbound.js"
import * as ProviderHttp from "../ProviderHttp.js"
import * as Signature from "../Signature.js"
import * as WebhookRequest from "../WebhookRequest.js"

/**
 * Telegram Bot API.
 *
 * - Send: `POST {baseUrl}/bot<token>/sendMessage` with `{chat_id, text}`; the answer is
 *   `{ok: true, result: {message_id, chat: {id}}}` or `{ok: false, error_code, description,
 *   parameters: {retry_after}}`.
 * - Webhooks: one `Update` per request, authenticated by the `X-Telegram-Bot-Api-Secret-Token` header,
 *   which Telegram sets to the `secret_token` given to `setWebhook`. There is no handshake.
 * - Telegram reports no delivery or read receipts to bots: deliveries through it end at `sent`.
 *
 * Message ids are per chat, so the provider message id is `<chat id>:<message id>`, unique across
 * chats and the same on every redelivery of an update (whose `update_id` is kept as `providerEventId`).
 * Addresses are chat ids (a user's private chat id is their user id; groups are negative).
 */

export const name = "telegram"

/** Telegram's limit on a message text. */
export const maxTextLength = 4096

export const secretHeader = "x-telegram-bot-api-secret-token"

export const Settings = Schema.Struct({
  ...ConnectorSettings.commonFields("https://api.telegram.org"),
  /** The token @BotFather gave: `<bot id>:<secret>`. */
  botToken: ConnectorSettings.secretMatching(
    /^[0-9]{1,20}:[A-Za-z0-9_-]{20,}$/,
    "a bot token like 123456:ABC-...",
  ),
  /** The `secret_token` passed to `setWebhook` (1-256 of A-Z a-z 0-9 _ -). */
  secretToken: ConnectorSettings.secretMatching(
    /^[A-Za-z0-9_-]{1,256}$/,
    "1-256 characters of A-Z a-z 0-9 _ -",
  ),
})
export type Settings = typeof Settings.Type

/** A chat id: an integer, negative for groups and channels. */
export const normalizeAddress = (address: string): Either.Either<string, InvalidAddress> => {
  const trimmed = address.trim()
  return /^-?[1-9][0-9]{0,19}$/.test(trimmed)
    ? Either.right(trimmed)
    : Either.left(new InvalidAddress({ connector: name, address, expected: "a numeric Telegram chat id" }))
}

const Failure = Schema.Struct({
  ok: Schema.Literal(false),
  error_code: Schema.optional(Schema.Number),
  description: Schema.optional(Schema.String),
  parameters: Schema.optional(
    Schema.Struct({
      retry_after: Schema.optional(Schema.Number),
      migrate_to_chat_id: Schema.optional(Schema.Number),
    }),
  ),
})
const decodeFailure = Schema.decodeUnknownOption(Failure)

const Sent = Schema.Struct({
  ok: Schema.Literal(true),
  result: Schema.Struct({ message_id: Schema.Number, chat: Schema.Struct({ id: Schema.Number }) }),
})
const decodeSent = Schema.decodeUnknownOption(Sent)

const File = Schema.Struct({
  file_id: Schema.String,
  mime_type: Schema.optional(Schema.String),
  file_name: Schema.optional(Schema.String),
})

const WireMessage = Schema.Struct({
  message_id: Schema.Number,
  date: Schema.Number,
  chat: Schema.Struct({ id: Schema.Number }),
  from: Schema.optional(
    Schema.Struct({
      id: Schema.Number,
      first_name: Schema.optional(Schema.String),
      last_name: Schema.optional(Schema.String),
      username: Schema.optional(Schema.String),
    }),
  ),
  sender_chat: Schema.optional(Schema.Struct({ title: Schema.optional(Schema.String) })),
  text: Schema.optional(Schema.String),
  caption: Schema.optional(Schema.String),
  photo: Schema.optional(
    Schema.Array(Schema.Struct({ file_id: Schema.String, file_size: Schema.optional(Schema.Number) })),
  ),
  document: Schema.optional(File),
  audio: Schema.optional(File),
  voice: Schema.optional(File),
  video: Schema.optional(File),
  sticker: Schema.optional(File),
  reply_to_message: Schema.optional(Schema.Struct({ message_id: Schema.Number })),
})
type WireMessage = typeof WireMessage.Type

const Update = Schema.Struct({ update_id: Schema.Number })
const decodeUpdate = Schema.decodeUnknownEither(Update)
const decodeMessage = Schema.decodeUnknownEither(WireMessage)

const messageKinds = ["message", "channel_post"] as const

/** Message fields that carry content this connector does not represent; the first one names the kind. */
const otherKinds = new Set([
  "animation",
  "video_note",
  "location",
  "venue",
  "contact",
  "poll",
  "dice",
  "game",
  "story",
  "invoice",
  "successful_payment",
  "paid_media",
  "new_chat_members",
  "left_chat_member",
  "new_chat_title",
  "new_chat_photo",
  "pinned_message",
  "forum_topic_created",
])

const contentOf = (message: WireMessage, raw: object): InboundContent => {
  if (message.text !== undefined) return { type: "text", text: message.text }
  const caption = message.caption === undefined ? {} : { caption: message.caption }
  const largest = message.photo?.reduce((a, b) => ((b.file_size ?? 0) >= (a.file_size ?? 0) ? b : a))
  if (largest !== undefined)
    return { type: "media", kind: "image", providerMediaId: largest.file_id, ...caption }
  for (const kind of ["document", "audio", "voice", "video", "sticker"] as const) {
    const file = message[kind]
    if (file !== undefined)
      return {
        type: "media",
        kind,
        providerMediaId: file.file_id,
        ...(file.mime_type === undefined ? {} : { mimeType: file.mime_type }),
        ...(file.file_name === undefined ? {} : { fileName: file.file_name }),
        ...caption,
      }
  }
  return { type: "unsupported", kind: Object.keys(raw).find((k) => otherKinds.has(k)) ?? "unknown" }
}

const senderName = (message: WireMessage): string | undefined => {
  if (message.from !== undefined) {
    const full = [message.from.first_name, message.from.last_name].filter((p) => p !== undefined).join(" ")
    return full !== "" ? full : message.from.username
  }
  return message.sender_chat?.title
}

/** The connector for one tenant's settings. */
export const make = (settings: Settings): Connector => {
  const capabilities: Capabilities = {
    channel: name,
    enabled: settings.enabled,
    contentTypes: ["text", "system"],
    maxTextLength,
    receipts: [],
  }
  const secrets = [settings.botToken, settings.secretToken]
  const method = (m: string) => `${settings.baseUrl}/bot${Redacted.value(settings.botToken)}/${m}`

  const failure = (response: ProviderHttp.Response) => {
    const parsed = decodeFailure(response.json)
    if (Option.isNone(parsed))
      return ProviderHttp.statusError(
        name,
        response,
        ProviderHttp.scrub(
          `answered HTTP ${response.status}: ${JSON.stringify(response.text.slice(0, 200))}`,
          secrets,
        ),
      )
    const { error_code, description, parameters } = parsed.value
    const migrated = parameters?.migrate_to_chat_id
    const detail = ProviderHttp.scrub(
      `${description ?? "error"}${migrated === undefined ? "" : `; the group is now chat ${migrated}`}`,
      secrets,
    )
    const effective =
      response.status >= 200 && response.status < 300 && error_code !== undefined
        ? { ...response, status: error_code }
        : response
    return ProviderHttp.statusError(name, effective, detail, {
      ...(error_code === undefined ? {} : { providerCode: String(error_code) }),
      ...(parameters?.retry_after === undefined ? {} : { retryAfterMs: parameters.retry_after * 1000 }),
    })
  }

  const call = (m: string, json?: unknown) =>
    Effect.gen(function* () {
      const response = yield* ProviderHttp.request({
        connector: name,
        method: json === undefined ? "GET" : "POST",
        url: method(m),
        json,
        timeoutMs: settings.timeoutMs,
        secrets,
      })
      const okFlag = (response.json as { ok?: unknown } | undefined)?.ok
      const success = response.status >= 200 && response.status < 300
      if (success && okFlag === true) return response
      if (success && okFlag !== false)
        return yield* ProviderHttp.badResponse(name, response, "{ok: true, result} or {ok: false, ...}")
      return yield* Effect.flip(failure(response))
    })

  return {
    name,
    capabilities,
    normalizeAddress,
    send: (delivery) =>
      Effect.gen(function* () {
        const text = yield* Outbound.text(name, capabilities, delivery)
        const chatId = yield* Outbound.address(name, normalizeAddress, delivery)
        const response = yield* call("sendMessage", {
          chat_id: chatId,
          text,
          link_preview_options: { is_disabled: true },
        })
        const sent = decodeSent(response.json)
        if (Option.isNone(sent))
          return yield* ProviderHttp.badResponse(
            name,
            response,
            "{ok: true, result: {message_id, chat: {id}}}",
          )
        const chat = String(sent.value.result.chat.id)
        return { providerMessageId: `${chat}:${sent.value.result.message_id}`, recipient: chat }
      }),
    inbound: (request) =>
      Effect.gen(function* () {
        const presented = WebhookRequest.header(request, secretHeader)
        if (presented === undefined || presented === "")
          return yield* new InvalidSignature({
            connector: name,
            reason: "missing",
            header: "X-Telegram-Bot-Api-Secret-Token",
          })
        if (!Signature.tokenEquals(presented, settings.secretToken))
          return yield* new InvalidSignature({
            connector: name,
            reason: "mismatch",
            header: "X-Telegram-Bot-Api-Secret-Token",
          })
        const body = Json.parseBody(request.body)
        if (Option.isNone(body))
          return yield* new MalformedWebhook({ connector: name, detail: "the body is not UTF-8 JSON" })
        const update = decodeUpdate(body.value)
        if (Either.isLeft(update))
          return yield* new MalformedWebhook({
            connector: name,
            detail: "not a Telegram Update: update_id is missing",
          })
        const updateId = String(update.right.update_id)
        const record = body.value as Record<string, unknown>
        const kind = messageKinds.find((k) => record[k] !== undefined)
        if (kind === undefined) {
          const other = Object.keys(record).find((k) => k !== "update_id") ?? "nothing"
          return { events: [], ignored: [`update ${updateId}: ${other}`] }
        }
        const message = decodeMessage(record[kind])
        if (Either.isLeft(message))
          return {
            events: [],
            ignored: [`update ${updateId}: unreadable ${kind}: ${message.left.message.split("\n")[0]}`],
          }
        const m = message.right
        const chat = String(m.chat.id)
        const sender = senderName(m)
        return {
          events: [
            new InboundMessage({
              connector: name,
              providerMessageId: `${chat}:${m.message_id}`,
              from: chat,
              content: contentOf(m, record[kind] as object),
              at: m.date * 1000,
              providerEventId: updateId,
              ...(sender === undefined ? {} : { senderName: sender }),
              ...(m.reply_to_message === undefined
                ? {}
                : { replyToProviderMessageId: `${chat}:${m.reply_to_message.message_id}` }),
            }),
          ],
          ignored: [],
        }
      }),
    probe: Effect.asVoid(call("getMe")),
  }
}

/** The registry entry. */
export const factory = ConnectorFactory.define({
  name,
  description: "Telegram Bot API: text messages to chats; Telegram reports no receipts to bots",
  settings: Settings,
  make,
})

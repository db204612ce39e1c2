import {
  type InboundEvent,
  InvalidSettings,
  MalformedWebhook,
  Telegram,
  WebhookRequest,
} from "@chat4all/connectors"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { build, fixedProvider, sendAgainst } from "./support.js"

const botToken = "7361212345:AAF9xQZ-secretpart_0123456789abcd"
const settings = (baseUrl: string) => ({ baseUrl, botToken, secretToken: "hook-secret_1" })

const update = (body: unknown, secret = "hook-secret_1") =>
  WebhookRequest.make({
    method: "POST",
    url: "/v1/connectors/telegram/webhook",
    headers: { "X-Telegram-Bot-Api-Secret-Token": secret, "content-type": "application/json" },
    body: JSON.stringify(body),
  })

const inbound = (body: unknown) =>
  Effect.flatMap(build(Telegram.factory, settings("https://api.telegram.org")), (c) =>
    c.inbound(update(body)),
  )

const person = { id: 111222333, is_bot: false, first_name: "Ana", last_name: "Souza", username: "anas" }
const chat = { id: 111222333, type: "private", first_name: "Ana" }

describe("Telegram", () => {
  describe("send", () => {
    it.scopedLive("posts {chat_id, text} to /bot<token>/sendMessage and returns <chat>:<message id>", () =>
      Effect.gen(function* () {
        const result = yield* sendAgainst(
          Telegram.factory,
          settings,
          (request) => {
            assert.strictEqual(request.path, `/bot${botToken}/sendMessage`)
            const body = JSON.parse(request.body)
            assert.strictEqual(body.chat_id, "-1001234567890")
            assert.strictEqual(body.text, "hello")
            return {
              status: 200,
              body: {
                ok: true,
                result: { message_id: 42, chat: { id: -1001234567890, type: "supergroup" }, date: 1 },
              },
            }
          },
          "-1001234567890",
        )
        assert.deepStrictEqual(
          result,
          Either.right({ providerMessageId: "-1001234567890:42", recipient: "-1001234567890" }),
        )
      }),
    )

    it.scopedLive("takes retry_after from the body of a 429", () =>
      Effect.gen(function* () {
        const result = yield* sendAgainst(
          Telegram.factory,
          settings,
          () => ({
            status: 429,
            body: {
              ok: false,
              error_code: 429,
              description: "Too Many Requests: retry after 17",
              parameters: { retry_after: 17 },
            },
          }),
          "1",
        )
        const error = Either.flip(result).pipe(Either.getOrThrow)
        assert.strictEqual(error.reason, "rate_limited")
        assert.isTrue(error.retryable)
        assert.strictEqual(error.retryAfterMs, 17_000)
        assert.strictEqual(error.providerCode, "429")
      }),
    )

    it.scopedLive("reads a gateway's HTML page as a retryable outage", () =>
      Effect.gen(function* () {
        const result = yield* sendAgainst(
          Telegram.factory,
          settings,
          () => ({ status: 502, body: "<html><center><h1>502 Bad Gateway</h1></center></html>" }),
          "1",
        )
        const error = Either.flip(result).pipe(Either.getOrThrow)
        assert.strictEqual(error.reason, "provider_unavailable")
        assert.isTrue(error.retryable)
        assert.include(error.detail, "502 Bad Gateway")
      }),
    )

    it.scopedLive("calls a 200 that is not a Bot API answer a bad response, not retryable", () =>
      Effect.gen(function* () {
        const result = yield* sendAgainst(
          Telegram.factory,
          settings,
          () => ({ status: 200, body: "<html>captive portal</html>" }),
          "1",
        )
        const error = Either.flip(result).pipe(Either.getOrThrow)
        assert.strictEqual(error.reason, "bad_response")
        assert.isFalse(error.retryable)
      }),
    )

    it.scopedLive("says where a group migrated to", () =>
      Effect.gen(function* () {
        const result = yield* sendAgainst(
          Telegram.factory,
          settings,
          () => ({
            status: 400,
            body: {
              ok: false,
              error_code: 400,
              description: "Bad Request: group chat was upgraded to a supergroup chat",
              parameters: { migrate_to_chat_id: -1009876543210 },
            },
          }),
          "-4001",
        )
        const error = Either.flip(result).pipe(Either.getOrThrow)
        assert.isFalse(error.retryable)
        assert.include(error.detail, "the group is now chat -1009876543210")
      }),
    )

    it.scopedLive("never shows the bot token, not even when a redirect points at it", () =>
      Effect.gen(function* () {
        const result = yield* sendAgainst(
          Telegram.factory,
          settings,
          (request) => ({
            status: 301,
            headers: { location: `https://elsewhere.example${request.path}` },
            body: "",
          }),
          "1",
        )
        const error = Either.flip(result).pipe(Either.getOrThrow)
        assert.strictEqual(error.reason, "redirect")
        assert.notInclude(`${error.message} ${JSON.stringify(error)}`, botToken)
        assert.include(error.detail, "/bot<redacted>/sendMessage")
      }),
    )

    it.scopedLive("never shows the bot token in a network error", () =>
      Effect.gen(function* () {
        const server = yield* fixedProvider(() => ({ status: 200, body: {} }))
        const closed = server.url.replace(/:\d+$/, ":1")
        const connector = yield* build(Telegram.factory, settings(closed))
        const error = yield* Effect.flip(connector.probe)
        assert.strictEqual(error.reason, "network")
        assert.isTrue(error.retryable)
        assert.notInclude(error.message, botToken)
      }),
    )
  })

  describe("settings", () => {
    it.effect("refuses a malformed bot token without echoing it", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(
          Telegram.factory.parse({ botToken: "not-a-token-but-a-secret", secretToken: "s" }),
        )
        assert.instanceOf(error, InvalidSettings)
        assert.strictEqual(error.field, "botToken")
        assert.notInclude(error.message, "not-a-token-but-a-secret")
        assert.include(error.message, "a bot token like 123456:ABC-...")
      }),
    )
  })

  describe("inbound", () => {
    it.effect("parses a text message with its sender, reply and update id", () =>
      Effect.gen(function* () {
        const batch = yield* inbound({
          update_id: 910000001,
          message: {
            message_id: 77,
            from: person,
            chat,
            date: 1717171717,
            text: "Oi! Tudo bem?",
            reply_to_message: { message_id: 76, chat, date: 1717171700, text: "earlier" },
          },
        })
        assert.deepStrictEqual(
          batch.events.map((e) => ({ ...e })),
          [
            {
              _tag: "InboundMessage",
              connector: "telegram",
              providerMessageId: "111222333:77",
              from: "111222333",
              senderName: "Ana Souza",
              content: { type: "text", text: "Oi! Tudo bem?" },
              at: 1717171717000,
              providerEventId: "910000001",
              replyToProviderMessageId: "111222333:76",
            },
          ],
        )
      }),
    )

    it.effect("takes the largest photo size and keeps the caption", () =>
      Effect.gen(function* () {
        const batch = yield* inbound({
          update_id: 2,
          message: {
            message_id: 3,
            from: person,
            chat,
            date: 1,
            caption: "look",
            photo: [
              { file_id: "small", file_unique_id: "a", width: 90, height: 90, file_size: 1000 },
              { file_id: "large", file_unique_id: "b", width: 1280, height: 1280, file_size: 90000 },
              { file_id: "medium", file_unique_id: "c", width: 320, height: 320, file_size: 9000 },
            ],
          },
        })
        const [event] = batch.events as ReadonlyArray<InboundEvent.InboundMessage>
        assert.deepStrictEqual(event?.content, {
          type: "media",
          kind: "image",
          providerMediaId: "large",
          caption: "look",
        })
      }),
    )

    it.effect("parses documents and channel posts; skips edits and other updates, saying so", () =>
      Effect.gen(function* () {
        const doc = yield* inbound({
          update_id: 4,
          channel_post: {
            message_id: 9,
            sender_chat: { id: -100777, title: "News", type: "channel" },
            chat: { id: -100777, type: "channel", title: "News" },
            date: 2,
            document: {
              file_id: "doc1",
              file_unique_id: "u",
              file_name: "report.pdf",
              mime_type: "application/pdf",
            },
          },
        })
        const [post] = doc.events as ReadonlyArray<InboundEvent.InboundMessage>
        assert.strictEqual(post?.from, "-100777")
        assert.strictEqual(post?.senderName, "News")
        assert.deepStrictEqual(post?.content, {
          type: "media",
          kind: "document",
          providerMediaId: "doc1",
          mimeType: "application/pdf",
          fileName: "report.pdf",
        })
        const edit = yield* inbound({
          update_id: 5,
          edited_message: { message_id: 1, chat, date: 1, edit_date: 2, text: "x" },
        })
        assert.deepStrictEqual(edit, { events: [], ignored: ["update 5: edited_message"] })
        const sticker = yield* inbound({
          update_id: 6,
          message: { message_id: 2, chat, date: 1, location: { latitude: 1, longitude: 2 } },
        })
        assert.deepStrictEqual((sticker.events[0] as InboundEvent.InboundMessage).content, {
          type: "unsupported",
          kind: "location",
        })
      }),
    )

    it.effect("calls an update without update_id malformed", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(inbound({ message: { message_id: 1, chat, date: 1, text: "x" } }))
        assert.instanceOf(error, MalformedWebhook)
      }),
    )
  })
})

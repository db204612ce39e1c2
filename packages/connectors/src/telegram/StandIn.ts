import { randomBytes } from "node:crypto"
import { Effect, type Scope } from "effect"
import * as StandIn from "../StandIn.js"
import * as WebhookRequest from "../WebhookRequest.js"

/**
 * A loopback stand-in of the Telegram Bot API: `POST /bot<token>/sendMessage` and `/bot<token>/getMe`,
 * Telegram's `{ok: false, error_code, description, parameters}` errors (and the gateway's HTML pages on
 * 502/504), message ids counted per chat, and one `Update` per webhook request with the
 * `X-Telegram-Bot-Api-Secret-Token` header.
 */

const telegramError = (status: number, description: string, retryAfter?: number): StandIn.Answer => ({
  status,
  body: {
    ok: false,
    error_code: status,
    description,
    ...(retryAfter === undefined ? {} : { parameters: { retry_after: retryAfter } }),
  },
})

const gatewayPage = (status: number): StandIn.Answer => ({
  status,
  headers: { "content-type": "text/html" },
  body: `<html>\r\n<head><title>${status} Bad Gateway</title></head>\r\n<body>\r\n<center><h1>${status} Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n`,
})

const descriptions: Record<number, string> = {
  400: "Bad Request: chat not found",
  401: "Unauthorized",
  403: "Forbidden: bot was blocked by the user",
  404: "Not Found",
  409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
}

export const make: Effect.Effect<StandIn.StandIn, never, Scope.Scope> = Effect.gen(function* () {
  const botId = StandIn.digits(10)
  const botToken = `${botId}:${randomBytes(26).toString("base64url")}`
  const secretToken = randomBytes(24).toString("base64url")
  const sent: Array<StandIn.SentMessage> = []
  /** Message ids are per chat, shared by the bot's and the person's messages, as in Telegram. */
  const lastMessageId = new Map<string, number>()
  const nextMessageId = (chat: string) => {
    const id = (lastMessageId.get(chat) ?? 0) + 1
    lastMessageId.set(chat, id)
    return id
  }
  /** `update_id`s are assigned once per event, so a redelivery repeats them. */
  const updateIds = new Map<string, number>()
  let lastUpdateId = Number(StandIn.digits(8))

  const handle = (request: StandIn.RecordedRequest): StandIn.Answer => {
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(request.path)
    if (match === null) return telegramError(404, "Not Found")
    const [, token, method] = match
    if (token !== botToken) return telegramError(401, "Unauthorized")
    if (method === "getMe")
      return {
        status: 200,
        body: {
          ok: true,
          result: {
            id: Number(botId),
            is_bot: true,
            first_name: "Chat4All Stand-in",
            username: "chat4all_standin_bot",
          },
        },
      }
    if (method !== "sendMessage") return telegramError(404, "Not Found")
    if (request.method !== "POST") return telegramError(400, "Bad Request: message text is empty")
    const body = StandIn.jsonBody(request) as { chat_id?: unknown; text?: unknown } | undefined
    const chatId = body?.chat_id
    if (chatId === undefined || chatId === "") return telegramError(400, "Bad Request: chat_id is empty")
    const chat = String(chatId)
    if (!/^-?[0-9]{1,20}$/.test(chat)) return telegramError(400, "Bad Request: chat not found")
    const text = body?.text
    if (typeof text !== "string" || text.length === 0)
      return telegramError(400, "Bad Request: message text is empty")
    if (text.length > 4096) return telegramError(400, "Bad Request: message is too long")
    const messageId = nextMessageId(chat)
    sent.push({ to: chat, text, providerMessageId: `${chat}:${messageId}` })
    return {
      status: 200,
      body: {
        ok: true,
        result: {
          message_id: messageId,
          from: {
            id: Number(botId),
            is_bot: true,
            first_name: "Chat4All Stand-in",
            username: "chat4all_standin_bot",
          },
          chat: { id: Number(chat), first_name: "Person", type: Number(chat) < 0 ? "group" : "private" },
          date: Math.floor(Date.now() / 1000),
          text,
        },
      },
    }
  }

  const server = yield* StandIn.listen({
    handle,
    renderFailure: (status, retryAfter) =>
      status === 429
        ? telegramError(429, `Too Many Requests: retry after ${retryAfter ?? 1}`, retryAfter ?? 1)
        : status === 502 || status === 504
          ? gatewayPage(status)
          : status >= 500
            ? telegramError(status, "Internal Server Error")
            : telegramError(status, descriptions[status] ?? "Bad Request"),
  })

  const request = (body: Uint8Array, signing: StandIn.Signing) =>
    WebhookRequest.make({
      method: "POST",
      url: "/webhook",
      headers: {
        "content-type": "application/json",
        ...(signing === "missing"
          ? {}
          : { "x-telegram-bot-api-secret-token": signing === "valid" ? secretToken : `${secretToken}x` }),
      },
      body,
    })

  return {
    provider: "telegram",
    baseUrl: server.url,
    secrets: [botToken, secretToken],
    settings: (options) => ({
      baseUrl: server.url,
      botToken:
        options?.credentials === "invalid" ? `${botId}:${randomBytes(26).toString("base64url")}` : botToken,
      secretToken,
      ...(options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    }),
    newAddress: () => StandIn.digits(9),
    verification: "token",
    statuses: [],
    sent: Effect.sync(() => [...sent]),
    requests: server.requests,
    failNext: server.failNext,
    reset: Effect.zipRight(
      server.reset,
      Effect.sync(() => {
        sent.length = 0
      }),
    ),
    inboundMessage: (input) => {
      const messageId = nextMessageId(input.from)
      const providerMessageId = `${input.from}:${messageId}`
      updateIds.set(providerMessageId, ++lastUpdateId)
      return { kind: "message", providerMessageId, ...input }
    },
    webhooks: (events, signing = "valid") =>
      events.map((event) => {
        if (event.kind !== "message") throw new Error("Telegram sends no status callbacks to bots")
        const [chat, messageId] = event.providerMessageId.split(":")
        let updateId = updateIds.get(event.providerMessageId)
        if (updateId === undefined) {
          updateId = ++lastUpdateId
          updateIds.set(event.providerMessageId, updateId)
        }
        const update = {
          update_id: updateId,
          message: {
            message_id: Number(messageId),
            from: {
              id: Number(chat),
              is_bot: false,
              first_name: "Person",
              last_name: chat?.slice(-4),
              language_code: "en",
            },
            chat: { id: Number(chat), first_name: "Person", last_name: chat?.slice(-4), type: "private" },
            date: Math.floor(event.at / 1000),
            text: event.text,
          },
        }
        return request(new TextEncoder().encode(JSON.stringify(update)), signing)
      }),
    signedRequest: (body, signing = "valid") => request(body, signing),
  }
})

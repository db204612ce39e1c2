import { ConnectorError, type InboundEvent, MalformedWebhook, WhatsApp } from "@chat4all/connectors"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { build, metaPost, sendAgainst } from "./support.js"

const settings = (baseUrl: string) => ({
  baseUrl,
  phoneNumberId: "106540352242922",
  accessToken: "EAAJB-token",
  appSecret: "app-secret",
  verifyToken: "verify-me",
})

const envelope = (value: Record<string, unknown>, field = "messages") => ({
  object: "whatsapp_business_account",
  entry: [
    { id: "102290129340398", changes: [{ field, value: { messaging_product: "whatsapp", ...value } }] },
  ],
})

const metadata = { display_phone_number: "15550783881", phone_number_id: "106540352242922" }

const inbound = (body: unknown) =>
  Effect.flatMap(build(WhatsApp.factory, settings("https://graph.facebook.com")), (c) =>
    c.inbound(metaPost("app-secret", body)),
  )

const graphError =
  (status: number, error: Record<string, unknown>, headers?: Record<string, string>) => () => ({
    status,
    headers,
    body: { error: { message: "x", type: "OAuthException", fbtrace_id: "AbC", ...error } },
  })

describe("WhatsApp", () => {
  describe("normalizeAddress", () => {
    it.each([
      ["+55 (11) 99999-0000", "5511999990000"],
      ["5511999990000", "5511999990000"],
      [" +1.415.555.0100 ", "14155550100"],
    ])("%s -> %s", (input, expected) => {
      assert.deepStrictEqual(WhatsApp.normalizeAddress(input), Either.right(expected))
    })
    it.each(["", "+", "0011999990000", "1234567", "1234567890123456", "+55 11 9999O-0000"])(
      "refuses %j",
      (input) => {
        assert.isTrue(Either.isLeft(WhatsApp.normalizeAddress(input)))
      },
    )
  })

  describe("send", () => {
    it.scopedLive("returns wa_id as the recipient when WhatsApp resolves the number differently", () =>
      Effect.gen(function* () {
        const result = yield* sendAgainst(
          WhatsApp.factory,
          settings,
          (request) => {
            assert.strictEqual(request.path, "/v21.0/106540352242922/messages")
            assert.strictEqual(request.headers.authorization, "Bearer EAAJB-token")
            assert.deepStrictEqual(JSON.parse(request.body), {
              messaging_product: "whatsapp",
              recipient_type: "individual",
              to: "5511988887777",
              type: "text",
              text: { preview_url: false, body: "hello" },
            })
            return {
              status: 200,
              body: {
                messaging_product: "whatsapp",
                contacts: [{ input: "5511988887777", wa_id: "551188887777" }],
                messages: [{ id: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA" }],
              },
            }
          },
          "+55 11 98888-7777",
        )
        assert.deepStrictEqual(
          result,
          Either.right({
            providerMessageId: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
            recipient: "551188887777",
          }),
        )
      }),
    )

    const cases: ReadonlyArray<
      readonly [string, () => { status: number; body: unknown }, Partial<ConnectorError>]
    > = [
      [
        "a pair rate limit under HTTP 400 (131056)",
        graphError(400, {
          code: 131056,
          message: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        }),
        { reason: "rate_limited", retryable: true, providerCode: "131056" },
      ],
      [
        "a transient error under HTTP 400",
        graphError(400, { code: 131000, message: "Something went wrong", is_transient: true }),
        { reason: "provider_unavailable", retryable: true },
      ],
      [
        "an expired token under HTTP 400 (190)",
        graphError(400, {
          code: 190,
          error_subcode: 463,
          message: "Error validating access token: Session has expired",
        }),
        { reason: "unauthorized", retryable: false, providerCode: "190" },
      ],
      [
        "an undeliverable message (131026)",
        graphError(400, {
          code: 131026,
          message: "Message undeliverable",
          error_data: { messaging_product: "whatsapp", details: "Recipient is not a WhatsApp user" },
        }),
        { reason: "rejected", retryable: false, providerCode: "131026" },
      ],
      [
        "an answer without messages",
        () => ({ status: 200, body: { messaging_product: "whatsapp", contacts: [] } }),
        { reason: "bad_response", retryable: false },
      ],
      [
        "an HTML error page",
        () => ({ status: 503, body: "<html><body>Service Unavailable</body></html>" }),
        { reason: "provider_unavailable", retryable: true, status: 503 },
      ],
    ]
    for (const [what, answer, expected] of cases)
      it.scopedLive(`classifies ${what}`, () =>
        Effect.gen(function* () {
          const result = yield* sendAgainst(WhatsApp.factory, settings, answer, "5511999990000")
          assert.isTrue(Either.isLeft(result), "fails")
          if (Either.isRight(result)) return
          const error = result.left
          assert.instanceOf(error, ConnectorError)
          for (const [key, value] of Object.entries(expected))
            assert.strictEqual(error[key as keyof ConnectorError], value, `${key} (${error.message})`)
        }),
      )

    it.scopedLive("says what the provider said, with its code and details", () =>
      Effect.gen(function* () {
        const result = yield* sendAgainst(
          WhatsApp.factory,
          settings,
          graphError(400, {
            code: 131026,
            message: "Message undeliverable",
            error_data: { details: "Recipient is not a WhatsApp user" },
            fbtrace_id: "Az8or2yhqkZfEZ-_4Qn_Bam",
          }),
          "5511999990000",
        )
        assert.strictEqual(
          Either.flip(result).pipe(Either.getOrThrow).message,
          "whatsapp: rejected (HTTP 400): (#131026) Message undeliverable - Recipient is not a WhatsApp user " +
            "[fbtrace_id Az8or2yhqkZfEZ-_4Qn_Bam]; not retryable",
        )
      }),
    )

    it.scopedLive("does not repeat the code when Graph's message starts with it", () =>
      Effect.gen(function* () {
        const result = yield* sendAgainst(
          WhatsApp.factory,
          settings,
          graphError(400, {
            code: 131056,
            message: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
          }),
          "5511999990000",
        )
        const error = Either.flip(result).pipe(Either.getOrThrow)
        assert.strictEqual(
          error.detail,
          "(#131056) (Business Account, Consumer Account) pair rate limit hit [fbtrace_id AbC]",
        )
      }),
    )

    it.scopedLive("reads Retry-After as an HTTP date", () =>
      Effect.gen(function* () {
        const at = new Date(Date.now() + 120_000).toUTCString()
        const result = yield* sendAgainst(
          WhatsApp.factory,
          settings,
          graphError(429, { code: 130429 }, { "retry-after": at }),
          "5511999990000",
        )
        const error = Either.flip(result).pipe(Either.getOrThrow)
        assert.isTrue(error.retryable)
        assert.isAbove(error.retryAfterMs ?? 0, 100_000)
        assert.isAtMost(error.retryAfterMs ?? 0, 120_000)
      }),
    )
  })

  describe("inbound", () => {
    it.effect("parses the documented message shapes", () =>
      Effect.gen(function* () {
        const batch = yield* inbound(
          envelope({
            metadata,
            contacts: [{ profile: { name: "Kerry Fisher" }, wa_id: "16315551234" }],
            messages: [
              {
                from: "16315551234",
                id: "wamid.A",
                timestamp: "1683229471",
                type: "text",
                text: { body: "Does it come in another color?" },
                context: { from: "15550783881", id: "wamid.ORIGINAL" },
              },
              {
                from: "16315551234",
                id: "wamid.B",
                timestamp: "1683229472",
                type: "image",
                image: {
                  caption: "This one",
                  mime_type: "image/jpeg",
                  sha256: "abc=",
                  id: "1003383421387256",
                },
              },
              {
                from: "16315551234",
                id: "wamid.C",
                timestamp: "1683229473",
                type: "audio",
                audio: { mime_type: "audio/ogg; codecs=opus", sha256: "x", id: "2234", voice: true },
              },
              {
                from: "16315551234",
                id: "wamid.D",
                timestamp: "1683229474",
                type: "interactive",
                interactive: { type: "button_reply", button_reply: { id: "yes", title: "Yes, please" } },
              },
              {
                from: "16315551234",
                id: "wamid.E",
                timestamp: "1683229475",
                type: "location",
                location: { latitude: 1, longitude: 2 },
              },
            ],
          }),
        )
        assert.deepStrictEqual(batch.ignored, [])
        const [text, image, voice, button, location] =
          batch.events as ReadonlyArray<InboundEvent.InboundMessage>
        assert.deepStrictEqual(
          { ...text },
          {
            _tag: "InboundMessage",
            connector: "whatsapp",
            providerMessageId: "wamid.A",
            from: "16315551234",
            senderName: "Kerry Fisher",
            account: "106540352242922",
            content: { type: "text", text: "Does it come in another color?" },
            at: 1683229471000,
            replyToProviderMessageId: "wamid.ORIGINAL",
          },
        )
        assert.deepStrictEqual(image?.content, {
          type: "media",
          kind: "image",
          providerMediaId: "1003383421387256",
          mimeType: "image/jpeg",
          caption: "This one",
        })
        assert.deepStrictEqual(voice?.content, {
          type: "media",
          kind: "voice",
          providerMediaId: "2234",
          mimeType: "audio/ogg; codecs=opus",
        })
        assert.deepStrictEqual(button?.content, { type: "text", text: "Yes, please" })
        assert.deepStrictEqual(location?.content, { type: "unsupported", kind: "location" })
      }),
    )

    it.effect("parses statuses, with the failure's reason", () =>
      Effect.gen(function* () {
        const batch = yield* inbound(
          envelope({
            metadata,
            statuses: [
              { id: "wamid.X", status: "delivered", timestamp: "1750263773", recipient_id: "16315551234" },
              {
                id: "wamid.Y",
                status: "failed",
                timestamp: "1750263774",
                recipient_id: "16315551234",
                errors: [
                  {
                    code: 131049,
                    title: "This message was not delivered to maintain healthy ecosystem engagement.",
                    error_data: {
                      details:
                        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
                    },
                  },
                ],
              },
              { id: "wamid.Z", status: "deleted", timestamp: "1750263775", recipient_id: "16315551234" },
            ],
          }),
        )
        assert.deepStrictEqual(
          batch.events.map((e) => ({ ...e })),
          [
            {
              _tag: "StatusUpdate",
              connector: "whatsapp",
              providerMessageId: "wamid.X",
              status: "delivered",
              at: 1750263773000,
              recipient: "16315551234",
            },
            {
              _tag: "StatusUpdate",
              connector: "whatsapp",
              providerMessageId: "wamid.Y",
              status: "failed",
              at: 1750263774000,
              recipient: "16315551234",
              detail:
                "131049: This message was not delivered to maintain healthy ecosystem engagement. - In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
            },
          ],
        )
        assert.deepStrictEqual(batch.ignored, ['status "deleted" of wamid.Z'])
      }),
    )

    it.effect("skips events for another phone number, other fields and unreadable items, saying so", () =>
      Effect.gen(function* () {
        const batch = yield* inbound({
          object: "whatsapp_business_account",
          entry: [
            {
              id: "1",
              changes: [
                {
                  field: "messages",
                  value: {
                    metadata: { phone_number_id: "999" },
                    messages: [
                      { from: "1", id: "wamid.other", timestamp: "1", type: "text", text: { body: "x" } },
                    ],
                  },
                },
                { field: "account_update", value: { metadata } },
                { field: "messages", value: { metadata, messages: [{ id: "wamid.broken" }] } },
              ],
            },
          ],
        })
        assert.deepStrictEqual(batch.events, [])
        assert.strictEqual(batch.ignored.length, 3)
        assert.include(batch.ignored[0], "phone number id 999; this connector serves 106540352242922")
        assert.strictEqual(batch.ignored[1], "change of field account_update")
        assert.include(batch.ignored[2], "unreadable message")
      }),
    )

    it.effect("calls another object malformed", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(inbound({ object: "page", entry: [] }))
        assert.instanceOf(error, MalformedWebhook)
        assert.include(error.message, '"page"')
      }),
    )
  })
})

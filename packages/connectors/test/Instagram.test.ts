import { InboundEvent, Instagram, MalformedWebhook } from "@chat4all/connectors"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { build, metaPost, sendAgainst } from "./support.js"

const settings = (baseUrl: string) => ({
  baseUrl,
  accountId: "17841400000000000",
  accessToken: "IGQVJ-token",
  appSecret: "ig-secret",
  verifyToken: "verify-me",
})

const inbound = (body: unknown, overrides: Record<string, unknown> = {}) =>
  Effect.flatMap(build(Instagram.factory, { ...settings("https://graph.facebook.com"), ...overrides }), (c) =>
    c.inbound(metaPost("ig-secret", body)),
  )

const item = (extra: Record<string, unknown>, sender = "6340000000000001") => ({
  sender: { id: sender },
  recipient: { id: "17841400000000000" },
  timestamp: 1718000000123,
  ...extra,
})

describe("Instagram", () => {
  it.scopedLive("posts {recipient: {id}, message: {text}} to /me/messages and returns message_id", () =>
    Effect.gen(function* () {
      const result = yield* sendAgainst(
        Instagram.factory,
        settings,
        (request) => {
          assert.strictEqual(request.path, "/v21.0/me/messages")
          assert.strictEqual(request.headers.authorization, "Bearer IGQVJ-token")
          assert.deepStrictEqual(JSON.parse(request.body), {
            recipient: { id: "6340000000000001" },
            message: { text: "hello" },
          })
          return { status: 200, body: { recipient_id: "6340000000000001", message_id: "aWdfZAG1f-abc" } }
        },
        "6340000000000001",
      )
      assert.deepStrictEqual(
        result,
        Either.right({ providerMessageId: "aWdfZAG1f-abc", recipient: "6340000000000001" }),
      )
    }),
  )

  it.scopedLive("classifies Graph's rate limit under HTTP 400 (#613) as retryable", () =>
    Effect.gen(function* () {
      const result = yield* sendAgainst(
        Instagram.factory,
        settings,
        () => ({
          status: 400,
          body: { error: { message: "(#613) Calls to this api have exceeded the rate limit.", code: 613 } },
        }),
        "6340000000000001",
      )
      const error = Either.flip(result).pipe(Either.getOrThrow)
      assert.strictEqual(error.reason, "rate_limited")
      assert.isTrue(error.retryable)
    }),
  )

  it.effect("parses messages, attachments, replies and reads; skips echoes, deletions and reactions", () =>
    Effect.gen(function* () {
      const batch = yield* inbound({
        object: "instagram",
        entry: [
          {
            id: "17841400000000000",
            time: 1718000000200,
            messaging: [
              item({ message: { mid: "m1", text: "hi there", reply_to: { mid: "m0" } } }),
              item({
                message: {
                  mid: "m2",
                  attachments: [{ type: "image", payload: { url: "https://cdn/img.jpg" } }],
                },
              }),
              item({
                message: {
                  mid: "m3",
                  attachments: [{ type: "story_mention", payload: { url: "https://x" } }],
                },
              }),
              item({ message: { mid: "m4", text: "our own", is_echo: true } }),
              item({ message: { mid: "m5", is_deleted: true } }),
              item({ read: { mid: "ours-1" } }),
              item({ reaction: { mid: "m1", action: "react", reaction: "love", emoji: "❤" } }),
            ],
          },
        ],
      })
      assert.deepStrictEqual(
        batch.events.map((e) => ({ ...e })),
        [
          {
            _tag: "InboundMessage",
            connector: "instagram",
            providerMessageId: "m1",
            from: "6340000000000001",
            account: "17841400000000000",
            content: { type: "text", text: "hi there" },
            at: 1718000000123,
            replyToProviderMessageId: "m0",
          },
          {
            _tag: "InboundMessage",
            connector: "instagram",
            providerMessageId: "m2",
            from: "6340000000000001",
            account: "17841400000000000",
            content: { type: "media", kind: "image", providerMediaId: "https://cdn/img.jpg" },
            at: 1718000000123,
          },
          {
            _tag: "InboundMessage",
            connector: "instagram",
            providerMessageId: "m3",
            from: "6340000000000001",
            account: "17841400000000000",
            content: { type: "unsupported", kind: "story_mention" },
            at: 1718000000123,
          },
          {
            _tag: "StatusUpdate",
            connector: "instagram",
            providerMessageId: "ours-1",
            status: "read",
            at: 1718000000123,
            recipient: "6340000000000001",
          },
        ],
      )
      assert.deepStrictEqual(batch.ignored, [
        "echo of our own message m4",
        "deletion of message m5",
        "messaging item reaction",
      ])
      assert.isTrue(
        batch.events.every((e) => e instanceof InboundEvent.InboundMessage || e._tag === "StatusUpdate"),
      )
    }),
  )

  it.effect("skips entries for another account when accountId is set", () =>
    Effect.gen(function* () {
      const body = {
        object: "instagram",
        entry: [{ id: "999", time: 1, messaging: [item({ message: { mid: "x", text: "x" } })] }],
      }
      const filtered = yield* inbound(body)
      assert.deepStrictEqual(filtered.events, [])
      assert.include(filtered.ignored[0], "entry for account 999")
      const open = yield* inbound(body, { accountId: undefined })
      assert.strictEqual(open.events.length, 1)
    }),
  )

  it.effect("calls a Page webhook malformed", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(inbound({ object: "page", entry: [] }))
      assert.instanceOf(error, MalformedWebhook)
    }),
  )
})

import { Content, Conversation, type Ids, Message } from "@chat4all/domain"
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"

const decodeDraft = Schema.decodeUnknownEither(Message.MessageDraft)
const draft = (text: string, metadata: Record<string, unknown> = {}) =>
  decodeDraft({
    senderId: "ann" as Ids.UserId,
    clientMessageId: "c1",
    content: { type: "text", text },
    channels: ["all"],
    metadata,
  })

describe("storable text", () => {
  it("refuses U+0000 and lone surrogates in message text and metadata, and keeps the rest", () => {
    expect(Either.isRight(draft("plain, accents é, emoji 😀, CJK 中文"))).toBe(true)
    expect(Either.isLeft(draft("a\u0000b"))).toBe(true)
    expect(Either.isLeft(draft("lone \uD800 high"))).toBe(true)
    expect(Either.isLeft(draft("lone \uDC00 low"))).toBe(true)
    expect(Either.isLeft(draft("ok", { nested: { list: ["fine", "bad\u0000"] } }))).toBe(true)
    expect(Either.isLeft(draft("ok", { "key\u0000": 1 }))).toBe(true)
    expect(Either.isRight(draft("ok", { nested: { list: ["fine", 1, null, true] } }))).toBe(true)
    const message = draft("a\u0000b")
    if (Either.isLeft(message)) expect(message.left.message).toContain("U+0000")
  })

  it("refuses it in captions and conversation titles", () => {
    const file = Schema.decodeUnknownEither(Content.FileContent)
    expect(
      Either.isLeft(
        file({
          type: "file",
          fileId: "1700000000000-550e8400-e29b-41d4-a716-446655440000",
          caption: "\u0000",
        }),
      ),
    ).toBe(true)
    const conversation = Schema.decodeUnknownEither(Schema.Struct(Conversation.Conversation.fields))
    const withTitle = (title: string) =>
      conversation({
        id: "c1",
        tenantId: "t1",
        type: "group",
        title,
        metadata: {},
        members: [],
        createdAt: 0,
        updatedAt: 0,
        lastSeq: 0,
      })
    expect(Either.isLeft(withTitle("t\u0000"))).toBe(true)
    expect(Either.isRight(withTitle("a title"))).toBe(true)
  })
})

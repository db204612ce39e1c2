import { isDeepStrictEqual } from "node:util"
import { Content, type Ids, Message } from "@chat4all/domain"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import {
  cmid,
  file,
  message,
  messageId,
  numRuns,
  propertyTimeout,
  system,
  text,
  user,
} from "../rules/support.js"

type Payload = Parameters<typeof Message.fingerprint>[0]

/** A copy with every object's keys in reverse order, nested metadata included. */
const reversedKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(reversedKeys)
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reversedKeys(v)]),
    )
  return value
}

/** Drops undefined object fields, recursively: what "the same payload" means. */
const withoutUndefined = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(withoutUndefined)
  if (value !== null && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, withoutUndefined(v)]),
    )
  return value
}
const samePayload = (a: Payload, b: Payload) =>
  isDeepStrictEqual(
    withoutUndefined({
      content: { ...a.content },
      replyTo: a.replyTo,
      channels: a.channels,
      metadata: a.metadata,
    }),
    withoutUndefined({
      content: { ...b.content },
      replyTo: b.replyTo,
      channels: b.channels,
      metadata: b.metadata,
    }),
  )

// Small domains, so that two independently drawn payloads are often equal and often differ by one detail.
const scalar = fc.oneof(
  fc.constantFrom("a", "b", "1", "", "é", '"', "\u0000"),
  fc.integer({ min: -2, max: 2 }),
  fc.constantFrom(true, false, null, 0.5),
)
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ maxDepth: 2 }, scalar, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 2 }),
  object: fc.dictionary(fc.constantFrom("x", "y", "1", "x:1,y", '"'), tie("value"), { maxKeys: 2 }),
})).value
const metadata = fc.dictionary(fc.constantFrom("k", "l", "m"), json, { maxKeys: 3 })
const content = fc.oneof(
  fc.constantFrom("a", "b").map(text),
  fc.constantFrom("a", "b").map(system),
  fc
    .tuple(fc.constantFrom("f-1", "f-2"), fc.option(fc.constantFrom("", "a"), { nil: undefined }))
    .map(([id, c]) => file(id, c)),
)
const channels = fc.oneof(
  fc.constant<Message.Channels>(["all"]),
  fc.uniqueArray(fc.constantFrom("whatsapp", "telegram", "all"), { minLength: 1, maxLength: 3 }),
)
const replyTo = fc.option(fc.constantFrom(messageId(1), messageId(2)), { nil: undefined })
const payload: fc.Arbitrary<Payload> = fc.record({ content, channels, metadata, replyTo })

describe("Message.fingerprint", () => {
  const base: Payload = {
    content: text("hi"),
    channels: ["all"],
    metadata: { a: 1, b: { c: [1, 2], d: "x" } },
  }

  it("does not depend on key order, at any depth", () => {
    expect(
      Message.fingerprint({
        channels: ["all"],
        metadata: { b: { d: "x", c: [1, 2] }, a: 1 },
        content: text("hi"),
      }),
    ).toBe(Message.fingerprint(base))
  })

  it("ignores undefined fields", () => {
    const f = Message.fingerprint(base)
    expect(Message.fingerprint({ ...base, replyTo: undefined })).toBe(f)
    expect(Message.fingerprint({ ...base, metadata: { ...base.metadata, e: undefined } })).toBe(f)
    expect(Message.fingerprint({ ...base, content: file("f-1") })).toBe(
      Message.fingerprint({
        ...base,
        content: new Content.FileContent({ type: "file", fileId: "f-1" as Ids.FileId, caption: undefined }),
      }),
    )
  })

  it("is the same for a draft and the message committed from it (what the decider compares)", () => {
    const draft = new Message.MessageDraft({
      senderId: user("alice"),
      clientMessageId: cmid("c1"),
      content: text("hello"),
      channels: ["all"],
      metadata: {},
    })
    expect(Message.fingerprint(draft)).toBe(Message.fingerprint(message("alice", { seq: 9 })))
    expect(Message.fingerprint({ ...draft, replyTo: messageId(3) })).not.toBe(Message.fingerprint(draft))
  })

  it("tells apart payloads that JSON would confuse with a naive join", () => {
    const f = (metadata: Payload["metadata"]) => Message.fingerprint({ ...base, metadata })
    expect(f({ a: "1" })).not.toBe(f({ a: 1 }))
    expect(f({ a: null })).not.toBe(f({}))
    expect(f({ "a,b": 1 })).not.toBe(f({ a: 1, b: 1 }))
    expect(f({ "a:1,b": 1 })).not.toBe(f({ a: 1, b: 1 }))
    expect(f({ a: { "b:1},{c": 1 } })).not.toBe(f({ a: { b: 1 }, c: 1 }))
    expect(f({ a: [1, 2] })).not.toBe(f({ a: "[1,2]" }))
    expect(Message.fingerprint({ ...base, content: text("a") })).not.toBe(
      Message.fingerprint({ ...base, content: system("a") }),
    )
  })

  describe("properties", { timeout: propertyTimeout }, () => {
    it("key order and undefined fields never change it", () => {
      fc.assert(
        fc.property(payload, (p) => {
          const reordered = reversedKeys({ ...p, content: { ...p.content } }) as Payload
          expect(Message.fingerprint(reordered)).toBe(Message.fingerprint(p))
          const padded = { ...p, replyTo: p.replyTo, metadata: { ...p.metadata, zzz: undefined } } as Payload
          expect(Message.fingerprint(padded)).toBe(Message.fingerprint(p))
        }),
        { numRuns },
      )
    })

    it("two payloads share a fingerprint exactly when they are the same payload", () => {
      fc.assert(
        fc.property(payload, payload, (a, b) => {
          expect(Message.fingerprint(a) === Message.fingerprint(b)).toBe(samePayload(a, b))
        }),
        { numRuns: numRuns * 3 },
      )
    })

    it("any change of content, channels, metadata or replyTo changes it", () => {
      const change = (p: Payload): fc.Arbitrary<Payload> =>
        fc.oneof(
          content.filter((c) => !samePayload({ ...p, content: c }, p)).map((c) => ({ ...p, content: c })),
          channels.filter((c) => !isDeepStrictEqual(c, p.channels)).map((c) => ({ ...p, channels: c })),
          metadata.filter((m) => !samePayload({ ...p, metadata: m }, p)).map((m) => ({ ...p, metadata: m })),
          replyTo.filter((r) => r !== p.replyTo).map((r) => ({ ...p, replyTo: r })),
        )
      fc.assert(
        fc.property(
          payload.chain((p) => fc.tuple(fc.constant(p), change(p))),
          ([p, q]) => {
            expect(Message.fingerprint(q)).not.toBe(Message.fingerprint(p))
          },
        ),
        { numRuns },
      )
    })
  })
})

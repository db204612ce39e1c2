import { Ids } from "@chat4all/domain"
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import * as fc from "fast-check"
import { numRuns, propertyTimeout } from "../rules/support.js"

const seed = "1709234567890-550e8400-e29b-41d4-a716-446655440000"
const isMessageId = Schema.is(Ids.MessageId)
const isEventId = Schema.is(Ids.EventId)

/** `seed` with the character at `index` replaced. */
const patch = (index: number, char: string) => seed.slice(0, index) + char + seed.slice(index + 1)
const versionAt = seed.indexOf("-41d4") + 1
const variantAt = seed.indexOf("-a716") + 1

describe("seed ids (MessageId, EventId)", () => {
  it("accepts the seed format", () => {
    expect(isMessageId(seed)).toBe(true)
    expect(isEventId(seed)).toBe(true)
    expect(Either.isRight(Schema.decodeUnknownEither(Ids.MessageId)(seed))).toBe(true)
    expect(isMessageId("0000000000000-00000000-0000-4000-8000-000000000000")).toBe(true)
    expect(isMessageId("9999999999999-ffffffff-ffff-4fff-bfff-ffffffffffff")).toBe(true)
  })

  it.each(["8", "9", "a", "b"])("accepts variant %s", (v) => {
    expect(isMessageId(patch(variantAt, v))).toBe(true)
  })

  it.each([
    ["version 1", patch(versionAt, "1")],
    ["version 7", patch(versionAt, "7")],
    ["version 0", patch(versionAt, "0")],
    ["variant 7 (NCS)", patch(variantAt, "7")],
    ["variant c (Microsoft)", patch(variantAt, "c")],
    ["variant 0", patch(variantAt, "0")],
    ["upper-case hex", seed.toUpperCase()],
    ["one upper-case letter", patch(seed.length - 1, "A")],
    ["a 12-digit timestamp", seed.slice(1)],
    ["a 14-digit timestamp", `1${seed}`],
    ["no timestamp", seed.slice(14)],
    ["no dash after the timestamp", seed.replace("-", "")],
    ["an underscore for the first dash", seed.replace("-", "_")],
    ["a uuid without dashes", `${seed.slice(0, 14)}${seed.slice(14).replaceAll("-", "")}`],
    ["braces", `${seed.slice(0, 14)}{${seed.slice(14)}}`],
    ["a non-hex letter", patch(seed.length - 1, "g")],
    ["a short last group", seed.slice(0, -1)],
    ["a long last group", `${seed}0`],
    ["a trailing newline", `${seed}\n`],
    ["leading space", ` ${seed}`],
    ["a timestamp with a sign", `+${seed.slice(1)}`],
    ["the empty string", ""],
  ])("rejects %s", (_, id) => {
    expect(isMessageId(id)).toBe(false)
    expect(isEventId(id)).toBe(false)
    expect(Either.isLeft(Schema.decodeUnknownEither(Ids.MessageId)(id))).toBe(true)
  })

  it("rejects what is not a string", () => {
    for (const value of [1709234567890, null, undefined, {}, [seed]]) expect(isMessageId(value)).toBe(false)
  })

  it("explains a rejection", () => {
    const result = Schema.decodeUnknownEither(Ids.MessageId)("nope")
    expect(Either.isLeft(result) && result.left.message).toContain("13-digit millisecond timestamp")
  })

  describe("formatSeedId and seedIdMillis", { timeout: propertyTimeout }, () => {
    it("pads the timestamp to 13 digits and lower-cases the uuid", () => {
      expect(Ids.formatSeedId(42, "550E8400-E29B-41D4-A716-446655440000")).toBe(
        "0000000000042-550e8400-e29b-41d4-a716-446655440000",
      )
      expect(Ids.formatSeedId(-5, "550e8400-e29b-41d4-a716-446655440000").slice(0, 13)).toBe("0000000000000")
      expect(Ids.formatSeedId(12.9, "550e8400-e29b-41d4-a716-446655440000").slice(0, 13)).toBe(
        "0000000000012",
      )
      expect(Ids.seedIdMillis(seed as Ids.MessageId)).toBe(1_709_234_567_890)
    })

    it("any millisecond time and UUID v4 make a valid id that gives its time back", () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 9_999_999_999_999 }), fc.uuid({ version: 4 }), (ms, uuid) => {
          const id = Ids.formatSeedId(ms, uuid)
          expect(isMessageId(id)).toBe(true)
          expect(Ids.seedIdMillis(id as Ids.MessageId)).toBe(ms)
        }),
        { numRuns },
      )
    })

    it("a UUID of any other version is rejected", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 9_999_999_999_999 }),
          fc.uuid({ version: [1, 2, 3, 5, 6, 7, 8] }),
          (ms, uuid) => {
            expect(isMessageId(Ids.formatSeedId(ms, uuid))).toBe(false)
          },
        ),
        { numRuns },
      )
    })

    it("ids sort by time as strings", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 9_999_999_999_999 }),
          fc.integer({ min: 0, max: 9_999_999_999_999 }),
          fc.uuid({ version: 4 }),
          fc.uuid({ version: 4 }),
          (a, b, ua, ub) => {
            fc.pre(a !== b)
            const [x, y] = [Ids.formatSeedId(a, ua), Ids.formatSeedId(b, ub)]
            expect(x < y).toBe(a < b)
          },
        ),
        { numRuns },
      )
    })
  })
})

describe("opaque ids (TenantId, UserId, ConversationId, ClientMessageId, FileId)", {
  timeout: propertyTimeout,
}, () => {
  const schemas: ReadonlyArray<(u: unknown) => boolean> = [
    Schema.is(Ids.TenantId),
    Schema.is(Ids.UserId),
    Schema.is(Ids.ConversationId),
    Schema.is(Ids.ClientMessageId),
    Schema.is(Ids.FileId),
  ]
  const allowed = new Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")
  const accepts = (value: string) => schemas.map((is) => is(value))

  it("accepts 1-128 characters of A-Z a-z 0-9 . _ : -", () => {
    for (const id of [
      "a",
      "Z",
      "0",
      ".",
      "_",
      ":",
      "-",
      "user_42",
      "tenant:acme.eu-1",
      "x".repeat(128),
      seed,
    ])
      expect(accepts(id)).toEqual(schemas.map(() => true))
  })

  it("rejects empty, too long, and any other character", () => {
    for (const id of [
      "",
      "x".repeat(129),
      "a b",
      "a/b",
      "a\nb",
      "ü",
      "a+b",
      "a@b",
      "😀",
      "a\u0000",
      "a\n",
      " a",
    ])
      expect(accepts(id)).toEqual(schemas.map(() => false))
  })

  it("accepts exactly the strings of 1-128 allowed characters", () => {
    const allowedChars = fc.constantFrom(...allowed)
    const anyChar = fc.oneof(allowedChars, fc.string({ unit: "binary", minLength: 1, maxLength: 1 }))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: allowedChars, minLength: 0, maxLength: 140 }),
          fc.string({ unit: anyChar, minLength: 0, maxLength: 140 }),
        ),
        (value) => {
          const expected = value.length >= 1 && value.length <= 128 && [...value].every((c) => allowed.has(c))
          expect(accepts(value)).toEqual(schemas.map(() => expected))
        },
      ),
      { numRuns },
    )
  })

  it("explains a rejection", () => {
    const result = Schema.decodeUnknownEither(Ids.UserId)("a b")
    expect(Either.isLeft(result) && result.left.message).toContain("1-128 characters")
  })
})

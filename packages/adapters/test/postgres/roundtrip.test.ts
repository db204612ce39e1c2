import {
  Content,
  ConversationCommand,
  ConversationStore,
  IdGenerator,
  type Ids,
  Message,
  MessageStore,
} from "@chat4all/domain"
import { Fixtures, Storage } from "@chat4all/domain/testing"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Either, type Layer, Option } from "effect"
import { afterAll } from "vitest"
import { literal } from "../../src/postgres/internal/transaction.js"
import { embeddedClient, noticeSkip, realClient, shared, skipReal, storage } from "./support.js"

noticeSkip("postgres round trips")

const u = Fixtures.user

/** Text that SQL quoting, array literals, JSON and placeholders could each get wrong. */
const awkward = [
  `it's a "quote", a backslash \\ and \\\\ two, $1 and $2 and $$ dollars`,
  "{braces,commas}",
  "NULL",
  "ünïcödé ✓ 🚀 \u2028 line\nbreak\ttab",
  "E'not an escape'",
  "--not a comment",
].join(" | ")

const metadata = {
  "quote'key": `va"lue`,
  nested: { list: [1, 2.5, -3, "x\\y", null, true], empty: {} },
  big: 9007199254740991,
  dollar: "$3",
}

describe("SQL literals", () => {
  it("quotes strings, arrays and nulls the way PostgreSQL reads them", () => {
    assert.strictEqual(literal(null), "NULL")
    assert.strictEqual(literal("it's"), "'it''s'")
    assert.strictEqual(literal("a\\b"), " E'a\\\\b'")
    assert.strictEqual(literal(42), "'42'")
    // An array is one array literal (elements double-quoted, \\ and \" escaped), quoted as one string.
    assert.strictEqual(
      literal(["a", null, 'q"uote', "b\\'"]),
      String.raw` E'{"a",NULL,"q\\"uote","b\\\\''"}'`,
    )
    assert.strictEqual(literal([1, 2]), `'{"1","2"}'`)
    assert.strictEqual(literal([]), "'{}'")
    assert.throws(() => literal({ not: "supported" }))
    assert.throws(() => literal(Number.NaN))
  })
})

const suite = <E>(name: string, storageLayer: Layer.Layer<Storage.StorageEnv, E>) =>
  describe(`awkward payloads through ${name}`, () => {
    layer(storageLayer, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect(
        "stores and reads back text, metadata and ids exactly, and replays them as the same send",
        () =>
          Effect.gen(function* () {
            const store = yield* ConversationStore.ConversationStore
            const messages = yield* MessageStore.MessageStore
            const tenant = Fixtures.freshTenant()
            const conversation = yield* Storage.createConversation(tenant, "group", ["o.neil:1", "bob"])
            const ids = yield* IdGenerator.IdGenerator
            const send = Effect.gen(function* () {
              const draft = new Message.MessageDraft({
                senderId: u("o.neil:1"),
                clientMessageId: "cm:1-x_y" as Ids.ClientMessageId,
                content: new Content.TextContent({ type: "text", text: awkward }),
                channels: ["all"],
                metadata,
              })
              return ConversationCommand.ConversationCommand.Send({
                draft,
                messageId: yield* ids.messageId,
                stamp: { eventId: yield* ids.eventId, at: Date.now() },
              })
            })
            const [sent] = yield* Storage.commitAll(conversation, [yield* send])
            assert.strictEqual(sent?._tag, "Sent")
            if (sent?._tag !== "Sent") return
            const read = Option.getOrThrow(yield* messages.get(tenant, sent.message.id))
            assert.strictEqual(read.content.type === "text" ? read.content.text : "", awkward)
            assert.deepStrictEqual(read.metadata, metadata)
            assert.strictEqual(read.clientMessageId, "cm:1-x_y")
            // The same send again, as a client retry: a replay of the stored message, not a conflict.
            const [outcome] = yield* store.commit(tenant, conversation.id, [yield* send])
            assert.isTrue(outcome !== undefined && Either.isRight(outcome))
            if (outcome && Either.isRight(outcome) && outcome.right._tag === "Sent") {
              assert.isTrue(outcome.right.replayed)
              assert.strictEqual(outcome.right.message.id, sent.message.id)
              assert.deepStrictEqual(outcome.right.message.metadata, metadata)
            }
          }),
      )
    })
  })

const embedded = await shared(storage(embeddedClient))
afterAll(embedded.release)
suite("the embedded database", embedded.layer)

describe.skipIf(skipReal)("real PostgreSQL", () => {
  suite("PostgreSQL", storage(realClient()))
})

import { assert, describe, layer } from "@effect/vitest"
import { Effect, Either, type Layer, Option } from "effect"
import { ConversationStore } from "../ports/ConversationStore.js"
import * as Fixtures from "./Fixtures.js"
import { commitAll, createConversation, type StorageEnv, sendMany } from "./Storage.js"

const u = Fixtures.user

/** The ConversationStore contract: creation, direct-pair uniqueness, the group commit, and the list. */
export const conversationStoreSuite = <E>(name: string, storage: Layer.Layer<StorageEnv, E>) =>
  describe(`ConversationStore contract: ${name}`, () => {
    layer(storage, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("creates a conversation and reads it back, only within its tenant", () =>
        Effect.gen(function* () {
          const store = yield* ConversationStore
          const tenant = Fixtures.freshTenant()
          const created = yield* createConversation(tenant, "group", ["ann", "bob", "cid"])
          const found = yield* store.get(tenant, created.id)
          assert.isTrue(Option.isSome(found))
          const c = Option.getOrThrow(found)
          assert.deepStrictEqual(
            c.members.map((m) => [m.userId, m.role, m.readSeq, m.deliveredSeq]),
            [
              ["ann", "owner", 0, 0],
              ["bob", "member", 0, 0],
              ["cid", "member", 0, 0],
            ],
          )
          assert.strictEqual(c.type, "group")
          assert.strictEqual(c.lastSeq, 0)
          assert.deepStrictEqual(c.metadata, { origin: "contract" })
          assert.isTrue(Option.isNone(yield* store.get(Fixtures.freshTenant(), created.id)))
        }),
      )

      it.effect("keeps one direct conversation per pair, whatever the order of the pair", () =>
        Effect.gen(function* () {
          const store = yield* ConversationStore
          const tenant = Fixtures.freshTenant()
          const first = yield* createConversation(tenant, "direct", ["ann", "bob"])
          const again = yield* Fixtures.newConversation(tenant, "direct", [u("bob"), u("ann")])
          const second = yield* store.create(again.conversation, again.event)
          assert.isFalse(second.created)
          assert.strictEqual(second.conversation.id, first.id)
          const elsewhere = yield* createConversation(Fixtures.freshTenant(), "direct", ["ann", "bob"])
          assert.notStrictEqual(elsewhere.id, first.id)
        }),
      )

      it.effect("assigns gapless seq in commit order and advances lastSeq", () =>
        Effect.gen(function* () {
          const store = yield* ConversationStore
          const conversation = yield* createConversation(Fixtures.freshTenant(), "group", ["ann", "bob"])
          const batch = [
            yield* Fixtures.send(u("ann"), "a1", "one"),
            yield* Fixtures.send(u("bob"), "b1", "two"),
            yield* Fixtures.send(u("ann"), "a2", "three"),
          ]
          const results = yield* commitAll(conversation, batch)
          assert.deepStrictEqual(
            results.map((r) => (r._tag === "Sent" ? [r.message.seq, r.replayed] : r._tag)),
            [
              [1, false],
              [2, false],
              [3, false],
            ],
          )
          const more = yield* sendMany(conversation, "bob", 2)
          assert.deepStrictEqual(
            more.map((m) => m.seq),
            [4, 5],
          )
          const after = Option.getOrThrow(yield* store.get(conversation.tenantId, conversation.id))
          assert.strictEqual(after.lastSeq, 5)
          assert.isAtLeast(after.updatedAt, conversation.updatedAt)
        }),
      )

      it.effect("answers a retried send with the original and rejects a changed one", () =>
        Effect.gen(function* () {
          const store = yield* ConversationStore
          const conversation = yield* createConversation(Fixtures.freshTenant(), "group", ["ann", "bob"])
          const [first] = yield* commitAll(conversation, [yield* Fixtures.send(u("ann"), "same", "hello")])
          // Within one batch and across commits: a retry is a replay, never a second message.
          const outcomes = yield* store.commit(conversation.tenantId, conversation.id, [
            yield* Fixtures.send(u("ann"), "same", "hello"),
            yield* Fixtures.send(u("ann"), "same", "changed"),
            yield* Fixtures.send(u("bob"), "same", "hello"),
          ])
          assert.strictEqual(first?._tag, "Sent")
          if (first?._tag !== "Sent") return
          const [replay, conflict, other] = outcomes
          assert.isTrue(replay !== undefined && Either.isRight(replay) && replay.right._tag === "Sent")
          if (replay && Either.isRight(replay) && replay.right._tag === "Sent") {
            assert.isTrue(replay.right.replayed)
            assert.strictEqual(replay.right.message.id, first.message.id)
            assert.strictEqual(replay.right.message.seq, 1)
            assert.deepStrictEqual(replay.right.message.content, first.message.content)
          }
          assert.isTrue(conflict !== undefined && Either.isLeft(conflict))
          if (conflict && Either.isLeft(conflict)) {
            assert.strictEqual(conflict.left._tag, "IdempotencyConflict")
          }
          // The same clientMessageId from another sender is another message.
          assert.isTrue(other !== undefined && Either.isRight(other) && other.right._tag === "Sent")
          if (other && Either.isRight(other) && other.right._tag === "Sent")
            assert.strictEqual(other.right.message.seq, 2)
          const after = Option.getOrThrow(yield* store.get(conversation.tenantId, conversation.id))
          assert.strictEqual(after.lastSeq, 2)
        }),
      )

      it.effect("rejects non-members, and unknown or foreign conversations", () =>
        Effect.gen(function* () {
          const store = yield* ConversationStore
          const conversation = yield* createConversation(Fixtures.freshTenant(), "group", ["ann"])
          const [outcome] = yield* store.commit(conversation.tenantId, conversation.id, [
            yield* Fixtures.send(u("eve"), "x", "intrusion"),
          ])
          assert.isTrue(outcome !== undefined && Either.isLeft(outcome) && outcome.left._tag === "NotAMember")
          const foreign = yield* store
            .commit(Fixtures.freshTenant(), conversation.id, [yield* Fixtures.send(u("ann"), "y", "hi")])
            .pipe(Effect.flip)
          assert.strictEqual(foreign._tag, "ConversationNotFound")
          const after = Option.getOrThrow(yield* store.get(conversation.tenantId, conversation.id))
          assert.strictEqual(after.lastSeq, 0)
        }),
      )

      it.effect("moves horizons forward only, and a read implies delivered", () =>
        Effect.gen(function* () {
          const store = yield* ConversationStore
          const conversation = yield* createConversation(Fixtures.freshTenant(), "group", ["ann", "bob"])
          yield* sendMany(conversation, "ann", 5)
          const results = yield* commitAll(conversation, [
            yield* Fixtures.receipt(u("bob"), "delivered", 4),
            yield* Fixtures.receipt(u("bob"), "read", 2),
            yield* Fixtures.receipt(u("bob"), "delivered", 1),
            yield* Fixtures.receipt(u("bob"), "read", 1),
          ])
          assert.deepStrictEqual(
            results.map((r) => (r._tag === "ReceiptRecorded" ? r.changed : r._tag)),
            [true, true, false, false],
          )
          const [beyond] = yield* store.commit(conversation.tenantId, conversation.id, [
            yield* Fixtures.receipt(u("bob"), "read", 6),
          ])
          assert.isTrue(
            beyond !== undefined && Either.isLeft(beyond) && beyond.left._tag === "InvalidRequest",
          )
          const bob = Option.getOrThrow(yield* store.get(conversation.tenantId, conversation.id)).member(
            u("bob"),
          )
          assert.strictEqual(bob?.deliveredSeq, 4)
          assert.strictEqual(bob?.readSeq, 2)
        }),
      )

      it.effect("adds and removes members", () =>
        Effect.gen(function* () {
          const store = yield* ConversationStore
          const conversation = yield* createConversation(Fixtures.freshTenant(), "group", ["ann"])
          yield* sendMany(conversation, "ann", 3)
          const results = yield* commitAll(conversation, [
            yield* Fixtures.addMember(u("bob"), "admin"),
            yield* Fixtures.addMember(u("bob")),
            yield* Fixtures.removeMember(u("ann")),
            yield* Fixtures.removeMember(u("zed")),
          ])
          assert.deepStrictEqual(
            results.map((r) =>
              r._tag === "MemberAdded" ? r.added : r._tag === "MemberRemoved" ? r.removed : r._tag,
            ),
            [true, false, true, false],
          )
          const after = Option.getOrThrow(yield* store.get(conversation.tenantId, conversation.id))
          assert.deepStrictEqual(
            after.members.map((m) => [m.userId, m.role, m.readSeq]),
            [["bob", "admin", 3]],
          )
        }),
      )

      it.effect("lists a user's conversations by latest activity with last message and unread count", () =>
        Effect.gen(function* () {
          const store = yield* ConversationStore
          const tenant = Fixtures.freshTenant()
          const quiet = yield* createConversation(tenant, "group", ["ann", "bob"])
          const busy = yield* createConversation(tenant, "group", ["ann", "cid"])
          yield* createConversation(tenant, "group", ["bob", "cid"])
          yield* Effect.sleep("5 millis")
          yield* sendMany(quiet, "bob", 1, "q")
          yield* Effect.sleep("5 millis")
          yield* sendMany(busy, "cid", 3, "c")
          yield* sendMany(busy, "ann", 1, "a")
          yield* commitAll(busy, [yield* Fixtures.receipt(u("ann"), "read", 1)])
          const page = yield* store.listForUser(tenant, u("ann"), { limit: 10, cursor: undefined })
          assert.deepStrictEqual(
            page.items.map((s) => s.conversation.id),
            [busy.id, quiet.id],
          )
          const [first, second] = page.items
          assert.strictEqual(first?.lastMessage?.seq, 4)
          assert.strictEqual(first?.lastMessage?.senderId, "ann")
          // seq 2 and 3 from cid are unread; ann's own seq 4 never counts.
          assert.strictEqual(first?.unreadCount, 2)
          assert.strictEqual(second?.unreadCount, 1)
          assert.isUndefined(page.nextCursor)
        }),
      )

      it.effect("pages through a long list with the cursor, each conversation once", () =>
        Effect.gen(function* () {
          const store = yield* ConversationStore
          const tenant = Fixtures.freshTenant()
          const ids = new Set<string>()
          for (let i = 0; i < 7; i++)
            ids.add((yield* createConversation(tenant, "group", ["ann", `p${i}`])).id)
          const seen: Array<string> = []
          let cursor: string | undefined
          let pages = 0
          do {
            const page = yield* store.listForUser(tenant, u("ann"), { limit: 3, cursor })
            seen.push(...page.items.map((s) => s.conversation.id))
            cursor = page.nextCursor
            pages++
          } while (cursor !== undefined && pages < 10)
          assert.strictEqual(pages, 3)
          assert.strictEqual(seen.length, 7)
          assert.deepStrictEqual(new Set(seen), ids)
          const empty = yield* store.listForUser(tenant, u("nobody"), { limit: 3, cursor: undefined })
          assert.strictEqual(empty.items.length, 0)
        }),
      )
    })
  })

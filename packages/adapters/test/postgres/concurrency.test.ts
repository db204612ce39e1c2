import {
  Content,
  ConversationCommand,
  ConversationStore,
  type Event,
  EventLog,
  Message,
  Trusted,
} from "@chat4all/domain"
import { Fixtures, Storage } from "@chat4all/domain/testing"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, layer } from "@effect/vitest"
import { Deferred, Effect, Either, Fiber, Metric, Option, Ref } from "effect"
import { transientFailures } from "../../src/postgres/internal/errors.js"
import { noticeSkip, realClient, skipReal, storage } from "./support.js"

noticeSkip("postgres concurrency")

const u = Fixtures.user

/** Everything the tenant's log holds after `cursor`, for `userId`, in as many reads as it takes. */
const readAll = (tenant: Parameters<EventLog.EventLog["Type"]["since"]>[0], userId: string, cursor: string) =>
  Effect.gen(function* () {
    const log = yield* EventLog.EventLog
    const events: Array<Event.Event> = []
    let at = cursor
    for (;;) {
      const batch = yield* log.since(tenant, u(userId), at, 200)
      events.push(...batch.events)
      at = batch.nextCursor
      if (!batch.hasMore) return { events, cursor: at }
    }
  })

/**
 * A reader that polls the log with small pages until `stop` is set and it has caught up with the head,
 * collecting every event it is handed.
 */
const pollUntil = (
  tenant: Parameters<EventLog.EventLog["Type"]["since"]>[0],
  userId: string,
  cursor: string,
  stop: Ref.Ref<boolean>,
) =>
  Effect.gen(function* () {
    const log = yield* EventLog.EventLog
    const seen: Array<Event.Event> = []
    let at = cursor
    let polls = 0
    for (;;) {
      const stopping = yield* Ref.get(stop)
      const batch = yield* log.since(tenant, u(userId), at, 7)
      polls++
      seen.push(...batch.events)
      at = batch.nextCursor
      if (stopping && !batch.hasMore) return { seen, polls }
      if (batch.events.length === 0) yield* Effect.sleep("2 millis")
    }
  })

/** `count` group conversations of the tenant, each of "ann" and one other member (`<prefix><i>`). */
const groups = (tenant: Parameters<typeof Storage.createConversation>[0], count: number, prefix: string) =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) => Storage.createConversation(tenant, "group", ["ann", `${prefix}${i}`]),
  )

/** Event ids by conversation, to check each conversation's events arrive in seq order. */
const messageSeqsByConversation = (events: ReadonlyArray<Event.Event>) => {
  const seqs = new Map<string, Array<number>>()
  for (const e of events)
    if (e.type === "message.created")
      seqs.set(e.conversationId, [...(seqs.get(e.conversationId) ?? []), e.data.message.seq])
  return seqs
}

describe.skipIf(skipReal)("PostgreSQL under concurrent writers", () => {
  layer(storage(realClient({ maxConnections: 16 })), { excludeTestServices: true, timeout: "120 seconds" })(
    (it) => {
      it.effect("a reader never skips an event whose position was taken early and committed late", () =>
        Effect.gen(function* () {
          const sql = yield* PgClient.PgClient
          const store = yield* ConversationStore.ConversationStore
          const log = yield* EventLog.EventLog
          const tenant = Fixtures.freshTenant()
          const start = yield* log.head(tenant)
          const conversations = yield* groups(tenant, 5, "p")
          const [held, ...others] = conversations

          const stop = yield* Ref.make(false)
          const reader = yield* Effect.fork(pollUntil(tenant, "ann", start, stop))

          // The real commit, inside an outer transaction that stays open: its positions are taken and its
          // rows written, but nothing is committed until the test says so.
          const tookPositions = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const heldSends = yield* Effect.forEach([1, 2, 3], (i) =>
            Fixtures.send(u("ann"), `held${i}`, `held ${i}`),
          )
          const heldWriter = yield* sql
            .withTransaction(
              Effect.gen(function* () {
                const outcomes = yield* store.commit(tenant, held!.id, heldSends)
                yield* Deferred.succeed(tookPositions, undefined)
                yield* Deferred.await(release)
                return outcomes
              }),
            )
            .pipe(Effect.fork)
          yield* Deferred.await(tookPositions)

          // Later writers, to other conversations of the tenant: they decide and write, then wait for the
          // held writer's positions to commit before taking theirs.
          const laterWriters = yield* Effect.forEach(
            others,
            (conversation, i) =>
              Effect.flatMap(
                Effect.forEach([1, 2], (n) => Fixtures.send(u(`p${i + 1}`), `late${n}`, `late ${n}`)),
                (sends) => store.commit(tenant, conversation.id, sends),
              ),
            { concurrency: "unbounded" },
          ).pipe(Effect.fork)

          yield* Effect.sleep("400 millis")
          assert.isTrue(
            Option.isNone(yield* Fiber.poll(laterWriters)),
            "later writers wait for the held positions",
          )
          const visibleWhileHeld = yield* readAll(tenant, "ann", start)
          assert.deepStrictEqual(
            visibleWhileHeld.events.map((e) => e.type),
            [
              "conversation.created",
              "conversation.created",
              "conversation.created",
              "conversation.created",
              "conversation.created",
            ],
          )

          yield* Deferred.succeed(release, undefined)
          const heldOutcomes = yield* Fiber.join(heldWriter)
          const laterOutcomes = yield* Fiber.join(laterWriters)
          assert.isTrue(heldOutcomes.every(Either.isRight))
          assert.isTrue(laterOutcomes.flat().every(Either.isRight))
          yield* Ref.set(stop, true)
          const { seen, polls } = yield* Fiber.join(reader)

          const all = yield* readAll(tenant, "ann", start)
          assert.strictEqual(all.events.length, 5 + 3 + 4 * 2)
          assert.isAbove(polls, 10)
          // Every committed event, once, in the log's order: the held writer's first, as it took them first.
          assert.deepStrictEqual(
            seen.map((e) => e.id),
            all.events.map((e) => e.id),
          )
          const messages = seen.filter((e) => e.type === "message.created")
          assert.deepStrictEqual(
            messages.slice(0, 3).map((e) => e.conversationId),
            [held!.id, held!.id, held!.id],
          )
          assert.strictEqual(all.cursor, yield* log.head(tenant))
        }),
      )

      it.effect(
        "hands a polling reader every event of many concurrent writers exactly once, in seq order",
        () =>
          Effect.gen(function* () {
            const store = yield* ConversationStore.ConversationStore
            const log = yield* EventLog.EventLog
            const tenant = Fixtures.freshTenant()
            const start = yield* log.head(tenant)
            const conversations = yield* groups(tenant, 8, "w")
            const stop = yield* Ref.make(false)
            const reader = yield* Effect.fork(pollUntil(tenant, "ann", start, stop))
            // Each conversation gets 60 messages from two senders, in commits of 1 to 6, all at once.
            const perConversation = 60
            yield* Effect.forEach(
              conversations,
              (conversation, c) =>
                Effect.forEach(
                  Array.from({ length: 12 }, (_, batch) => batch),
                  (batch) =>
                    Effect.gen(function* () {
                      const size = (batch % 6) + 1
                      const sends = yield* Effect.forEach(
                        Array.from({ length: size }, (_, k) => k),
                        (k) =>
                          Fixtures.send(
                            u(k % 2 === 0 ? "ann" : `w${c}`),
                            `b${batch}-${k}`,
                            `batch ${batch} #${k}`,
                          ),
                      )
                      const outcomes = yield* store.commit(tenant, conversation.id, sends)
                      assert.isTrue(outcomes.every(Either.isRight))
                    }),
                  { concurrency: 4 },
                ),
              { concurrency: "unbounded" },
            )
            yield* Ref.set(stop, true)
            const { seen } = yield* Fiber.join(reader)
            const all = yield* readAll(tenant, "ann", start)
            const sent = conversations.length * (1 + 2 + 3 + 4 + 5 + 6) * 2
            assert.strictEqual(perConversation, (1 + 2 + 3 + 4 + 5 + 6) * 2 + 18)
            assert.strictEqual(all.events.length, conversations.length + sent)
            assert.deepStrictEqual(
              seen.map((e) => e.id),
              all.events.map((e) => e.id),
            )
            assert.strictEqual(new Set(seen.map((e) => e.id)).size, seen.length)
            for (const [conversationId, seqs] of messageSeqsByConversation(seen)) {
              const expected = Array.from({ length: seqs.length }, (_, i) => i + 1)
              assert.deepStrictEqual(seqs, expected, `conversation ${conversationId} in seq order, gapless`)
            }
          }),
      )

      it.effect(
        "commits a burst over many conversations, each with its own outcomes; a missing conversation fails alone",
        () =>
          Effect.gen(function* () {
            const store = yield* ConversationStore.ConversationStore
            const log = yield* EventLog.EventLog
            const tenant = Fixtures.freshTenant()
            const start = yield* log.head(tenant)
            const conversations = yield* groups(tenant, 40, "m")
            // Commits to every conversation at once, twice over, and one to a conversation that does not
            // exist among them: they queue up together for the tenant's commit lanes.
            const missing = store.commit(
              tenant,
              "no-such-conversation" as (typeof conversations)[number]["id"],
              [yield* Fixtures.send(u("ann"), "lost", "lost")],
            )
            const [answers, lost] = yield* Effect.all(
              [
                Effect.forEach(
                  [...conversations, ...conversations],
                  (conversation, i) =>
                    Effect.flatMap(Fixtures.send(u("ann"), `k${i}`, `burst ${i}`), (send) =>
                      store.commit(tenant, conversation.id, [send]),
                    ),
                  { concurrency: "unbounded" },
                ),
                Effect.either(missing),
              ],
              { concurrency: "unbounded" },
            )
            assert.isTrue(Either.isLeft(lost) && lost.left._tag === "ConversationNotFound")
            assert.isTrue(answers.every((outcomes) => outcomes.length === 1 && Either.isRight(outcomes[0]!)))
            for (const conversation of conversations) {
              const found = Option.getOrThrow(yield* store.get(tenant, conversation.id))
              assert.strictEqual(found.lastSeq, 2)
            }
            const all = yield* readAll(tenant, "ann", start)
            assert.strictEqual(all.events.length, 40 + 80)
            assert.deepStrictEqual(
              all.events.map((e) => e.position),
              all.events.map((_, i) => all.events[0]!.position! + i),
              "positions without gaps",
            )
            for (const [conversationId, seqs] of messageSeqsByConversation(all.events))
              assert.deepStrictEqual(seqs, [1, 2], `conversation ${conversationId}`)
          }),
      )
    },
  )

  // A pool of two has one commit lane: the tenant's concurrent commits share its transactions.
  layer(storage(realClient({ maxConnections: 2 })), { excludeTestServices: true, timeout: "120 seconds" })(
    (it) => {
      it.effect(
        "a batch the server refuses fails alone, not the conversations that shared its transaction",
        () =>
          Effect.gen(function* () {
            const store = yield* ConversationStore.ConversationStore
            const tenant = Fixtures.freshTenant()
            const conversations = yield* groups(tenant, 12, "s")
            // PostgreSQL cannot store U+0000 in text or jsonb. The model refuses such text, so this send is
            // built trusted, as if it had slipped past: the server's refusal is what the test is about.
            const refused = (send: ConversationCommand.ConversationCommand) =>
              send._tag === "Send"
                ? ConversationCommand.ConversationCommand.Send({
                    ...send,
                    draft: Trusted.trusted(Message.MessageDraft, {
                      ...send.draft,
                      content: Trusted.trusted(Content.TextContent, {
                        type: "text",
                        text: "nul \u0000 inside",
                      }),
                    }),
                  })
                : send
            const answers = yield* Effect.forEach(
              conversations,
              (conversation, i) =>
                Effect.flatMap(Fixtures.send(u("ann"), `k${i}`, `fine ${i}`), (send) =>
                  Effect.either(store.commit(tenant, conversation.id, [i === 5 ? refused(send) : send])),
                ),
              { concurrency: "unbounded" },
            )
            answers.forEach((answer, i) => {
              if (i === 5) assert.isTrue(Either.isLeft(answer) && answer.left._tag === "StoreUnavailable")
              else assert.isTrue(Either.isRight(answer), `conversation ${i} committed`)
            })
            for (const [i, conversation] of conversations.entries()) {
              const found = Option.getOrThrow(yield* store.get(tenant, conversation.id))
              assert.strictEqual(found.lastSeq, i === 5 ? 0 : 1)
            }
          }),
      )
    },
  )

  // Under repeatable read, concurrent commits collide on the tenant's head row and fail with 40001:
  // every one of them must still succeed, through retries of the whole transaction.
  layer(
    storage(
      realClient({ maxConnections: 12, settings: { default_transaction_isolation: "repeatable read" } }),
    ),
    {
      excludeTestServices: true,
      timeout: "120 seconds",
    },
  )((it) => {
    it.effect("retries serialization failures until every commit lands", () =>
      Effect.gen(function* () {
        const store = yield* ConversationStore.ConversationStore
        const log = yield* EventLog.EventLog
        const failures = Metric.tagged(transientFailures, "operation", "ConversationStore.commit")
        const before = (yield* Metric.value(failures)).count
        const tenant = Fixtures.freshTenant()
        const start = yield* log.head(tenant)
        const conversations = yield* groups(tenant, 6, "r")
        yield* Effect.forEach(
          conversations,
          (conversation) =>
            Effect.forEach(
              [1, 2, 3],
              (n) =>
                Effect.flatMap(Fixtures.send(u("ann"), `r${n}`, `retry ${n}`), (send) =>
                  store.commit(tenant, conversation.id, [send]),
                ),
              { discard: true },
            ),
          { concurrency: "unbounded", discard: true },
        )
        const after = (yield* Metric.value(failures)).count
        assert.isAbove(after, before, "some commits collided and were retried")
        for (const conversation of conversations) {
          const found = Option.getOrThrow(yield* store.get(tenant, conversation.id))
          assert.strictEqual(found.lastSeq, 3)
        }
        const all = yield* readAll(tenant, "ann", start)
        assert.strictEqual(all.events.length, 6 + 6 * 3)
      }),
    )
  })
})

import { spawn } from "node:child_process"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { ConversationStore, EventLog, MessageStore } from "@chat4all/domain"
import { Fixtures, Storage } from "@chat4all/domain/testing"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { noticeSkip, realClient, Schema, skipReal, storage } from "./support.js"

noticeSkip("postgres two processes")

interface Answer {
  readonly cmid: string
  readonly id: string
  readonly seq: number
  readonly replayed: boolean
}

const sender = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "fixtures", "sender.ts")

/** Runs the sender in a node process of its own (through tsx) and collects its answers. */
const runSender = (env: Record<string, string>) =>
  Effect.async<ReadonlyArray<Answer>, Error>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", sender], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
    })
    child.stderr.on("data", (chunk) => {
      err += chunk
    })
    child.on("error", (error) => resume(Effect.fail(error)))
    child.on("exit", (code) => {
      if (code !== 0) return resume(Effect.fail(new Error(`sender exited with ${code}: ${err}`)))
      resume(
        Effect.try({
          try: () =>
            out
              .split("\n")
              .filter((line) => line.trim() !== "")
              .map((line) => JSON.parse(line) as Answer),
          catch: (cause) => new Error(`sender printed something else: ${String(cause)}\n${out}`),
        }),
      )
    })
    return Effect.sync(() => child.kill())
  })

describe.skipIf(skipReal)("two processes writing one conversation", () => {
  layer(storage(realClient()), { excludeTestServices: true, timeout: "180 seconds" })((it) => {
    it.effect(
      "interleave into one gapless order with each clientMessageId stored once",
      () =>
        Effect.gen(function* () {
          const { url, schema } = yield* Schema
          const store = yield* ConversationStore.ConversationStore
          const messages = yield* MessageStore.MessageStore
          const log = yield* EventLog.EventLog
          const tenant = Fixtures.freshTenant()
          const start = yield* log.head(tenant)
          const conversation = yield* Storage.createConversation(tenant, "group", ["ann", "bob"])
          const count = 300
          // The senders meet here before they send (see the fixture): the race is the point of the test.
          const sql = yield* SqlClient.SqlClient
          yield* sql`CREATE TABLE twoprocess_ready (pid int NOT NULL)`
          const env = {
            C4A_URL: url,
            C4A_SCHEMA: schema,
            C4A_TENANT: tenant,
            C4A_CONVERSATION: conversation.id,
            C4A_COUNT: String(count),
            C4A_PROCESSES: "2",
          }
          const [first, second] = yield* Effect.all([runSender(env), runSender(env)], { concurrency: 2 })
          // Each process heard back about every send and every retry.
          assert.strictEqual(first!.length, count + count / 2)
          assert.strictEqual(second!.length, count + count / 2)

          const stored = yield* messages.list(tenant, conversation.id, { limit: 200 * 2 })
          const all = [...stored]
          assert.strictEqual(all.length, count)
          assert.deepStrictEqual(
            all.map((m) => m.seq),
            Array.from({ length: count }, (_, i) => i + 1),
          )
          assert.strictEqual(new Set(all.map((m) => m.clientMessageId)).size, count)
          const byCmid = new Map(all.map((m) => [m.clientMessageId as string, m]))
          // Every answer, in either process, is the one stored message for its clientMessageId.
          for (const answer of [...first!, ...second!]) {
            const message = byCmid.get(answer.cmid)
            assert.strictEqual(answer.id, message?.id, `${answer.cmid} answered with the stored message`)
            assert.strictEqual(answer.seq, message?.seq)
          }
          // The two processes raced for real: each created some messages and replayed some of the other's.
          const created = (answers: ReadonlyArray<Answer>) => answers.filter((a) => !a.replayed).length
          assert.strictEqual(created(first!) + created(second!), count)
          assert.isAbove(created(first!), 0)
          assert.isAbove(created(second!), 0)

          const after = Option.getOrThrow(yield* store.get(tenant, conversation.id))
          assert.strictEqual(after.lastSeq, count)
          const events: Array<string> = []
          let cursor = start
          for (;;) {
            const batch = yield* log.since(tenant, Fixtures.user("ann"), cursor, 200)
            events.push(...batch.events.filter((e) => e.type === "message.created").map((e) => e.id))
            cursor = batch.nextCursor
            if (!batch.hasMore) break
          }
          assert.strictEqual(events.length, count)
        }),
      120_000,
    )
  })
})

import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { ConversationStore, EventLog, MessageStore } from "@chat4all/domain"
import { Fixtures, Storage, TestIdGenerator } from "@chat4all/domain/testing"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Redacted } from "effect"
import { EmbeddedPostgres, Migrations, PostgresStore } from "../../src/postgres/index.js"
import { databaseUrl, noticeSkip, randomSchema, skipReal, tempDataDir } from "./support.js"

noticeSkip("postgres embedded and startup")

/** The app's storage layer with exactly this environment (nothing read from the process's own). */
const fromEnv = (env: Record<string, string>) =>
  Layer.merge(PostgresStore.layerFromEnv, TestIdGenerator.layer).pipe(
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))),
  )

describe("the embedded default (no DATABASE_URL)", () => {
  it.live(
    "keeps its data across a stop and a start",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDataDir
        const tenant = Fixtures.freshTenant()
        const written = yield* Effect.scoped(
          Effect.gen(function* () {
            const conversation = yield* Storage.createConversation(tenant, "group", ["ann", "bob"])
            const sent = yield* Storage.sendMany(conversation, "ann", 3)
            yield* Storage.commitAll(conversation, [yield* Fixtures.receipt(Fixtures.user("bob"), "read", 2)])
            const head = yield* Effect.flatMap(EventLog.EventLog, (log) => log.head(tenant))
            return { conversation, sent, head }
          }).pipe(Effect.provide(fromEnv({ DATA_DIR: dataDir }))),
        )
        assert.isTrue(Fs.existsSync(Path.join(dataDir, "postgres", "PG_VERSION")))
        assert.isFalse(Fs.existsSync(Path.join(dataDir, "postgres.lock")), "the lock goes with the process")

        yield* Effect.gen(function* () {
          const store = yield* ConversationStore.ConversationStore
          const messages = yield* MessageStore.MessageStore
          const log = yield* EventLog.EventLog
          const conversation = Option.getOrThrow(yield* store.get(tenant, written.conversation.id))
          assert.strictEqual(conversation.lastSeq, 3)
          assert.strictEqual(conversation.member(Fixtures.user("bob"))?.readSeq, 2)
          const listed = yield* messages.list(tenant, conversation.id, { limit: 10 })
          assert.deepStrictEqual(
            listed.map((m) => [m.id, m.seq, m.status]),
            written.sent.map((m, i) => [m.id, m.seq, i < 2 ? "read" : "sent"]),
          )
          assert.strictEqual(yield* log.head(tenant), written.head)
          const events = yield* log.since(tenant, Fixtures.user("ann"), "0", 50)
          assert.deepStrictEqual(
            events.events.map((e) => e.type),
            ["conversation.created", "message.created", "message.created", "message.created", "receipt.read"],
          )
          // It goes on where it stopped, and the migrations did not run twice.
          const [more] = yield* Storage.sendMany(conversation, "bob", 1, "again")
          assert.strictEqual(more?.seq, 4)
          const sql = yield* PgClient.PgClient
          const applied = yield* sql<{
            readonly n: number
          }>`SELECT count(*)::int AS n FROM chat4all_migrations`
          assert.strictEqual(applied[0]?.n, Object.keys(Migrations.migrations).length)
        }).pipe(Effect.provide(fromEnv({ DATA_DIR: dataDir })))
      }).pipe(Effect.scoped),
    120_000,
  )

  it.live(
    "refuses a data directory a live process holds, and takes over a stale lock",
    () =>
      Effect.gen(function* () {
        const dataDir = yield* tempDataDir
        const dir = PostgresStore.embeddedDirectory(dataDir)
        // A lock left behind by a process that is gone.
        const gone = spawnSync(process.execPath, ["-e", ""]).pid
        Fs.writeFileSync(`${dir}.lock`, `${gone}\n`)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const server = yield* EmbeddedPostgres.make({ dataDir: dir })
            assert.strictEqual(Fs.readFileSync(`${dir}.lock`, "utf8").trim(), String(process.pid))
            assert.match(Redacted.value(server.url), /^postgres:\/\/postgres@127\.0\.0\.1:[0-9]+\/postgres$/)
            const second = yield* Effect.flip(EmbeddedPostgres.make({ dataDir: dir }))
            assert.strictEqual(second._tag, "EmbeddedPostgresError")
            assert.include(second.message, `in use by process ${process.pid}`)
          }),
        )
        assert.isFalse(Fs.existsSync(`${dir}.lock`))
      }).pipe(Effect.scoped),
    120_000,
  )
})

describe("DATABASE_URL", () => {
  it.live("fails at start with a message that names the server it cannot reach", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Effect.scoped(Layer.build(fromEnv({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/nowhere" }))),
      )
      assert.strictEqual(error._tag, "SqlError")
      assert.include(error.message, "cannot connect to PostgreSQL at 127.0.0.1:1/nowhere")
    }),
  )

  it.live.skipIf(skipReal)(
    "picks the real server when set, and migrates it",
    () =>
      Effect.gen(function* () {
        const url = databaseUrl
        if (url === undefined) return assert.fail("CI=true but DATABASE_URL is not set")
        const schema = randomSchema()
        const admin = yield* PgClient.PgClient
        yield* Effect.acquireRelease(admin.unsafe(`CREATE SCHEMA ${schema}`), () =>
          admin.unsafe(`DROP SCHEMA ${schema} CASCADE`).pipe(Effect.orDie),
        )
        const withSchema = new URL(url)
        withSchema.searchParams.set("options", `-c search_path=${schema}`)
        yield* Effect.gen(function* () {
          const conversation = yield* Storage.createConversation(Fixtures.freshTenant(), "direct", [
            "ann",
            "bob",
          ])
          const [sent] = yield* Storage.sendMany(conversation, "ann", 1)
          assert.strictEqual(sent?.seq, 1)
          const sql = yield* PgClient.PgClient
          const [where] = yield* sql<{ readonly schema: string }>`SELECT current_schema() AS schema`
          // The schema exists on the real server only: the embedded database was not started.
          assert.strictEqual(where?.schema, schema)
        }).pipe(Effect.provide(fromEnv({ DATABASE_URL: withSchema.toString() })))
      }).pipe(
        Effect.scoped,
        Effect.provide(PostgresStore.clientLayer({ url: Redacted.make(databaseUrl ?? "postgres://unset") })),
      ),
    60_000,
  )
})

/**
 * Durable messages per second into PostgreSQL through the conversation actor, beside a raw `pg` baseline
 * measured in the same run.
 *
 *   npm run bench:store
 *   DATABASE_URL=postgres://...      the server (default postgres://postgres@127.0.0.1:5432/test)
 *   BENCH_SECONDS=10                 measured seconds per target (after BENCH_WARMUP=2 s of warm-up)
 *   BENCH_CONVERSATIONS=100          conversations, two members each
 *   BENCH_SENDERS=2000               concurrent senders, spread over the conversations
 *   BENCH_POOL=8                     connections in the pool (adapter and baseline alike)
 *   BENCH_EMBEDDED_SECONDS=5         measured seconds into the embedded PGlite (0 skips it)
 *   BENCH_EMBEDDED_SENDERS=500
 *   BENCH_TARGETS=postgres,baseline,memory,embedded   which targets to run
 *
 * Targets:
 * - baseline: the raw `pg` driver writing the same rows into the same schema with multi-row INSERTs
 *   (messages, event log, outbox) and the conversation's last_seq, one transaction per batch, as many
 *   writers as pool connections; once with the adapter's messages per transaction, once with batches of 256;
 * - adapter: `ConversationActor.execute(Send)` over `PgConversationStore` (group commit: the actor commits
 *   whatever queued up for a conversation at once, and the store's commit lanes put the batches of several
 *   conversations of a tenant in one transaction; `mean batch` is commands per conversation commit,
 *   `msgs/tx` per database transaction);
 * - embedded: the same through the embedded PGlite served on loopback;
 * - reference: the same actor path over the memory ConversationStore, which is what the domain alone costs
 *   (the decider, the Schema classes, the actor) with no database at all.
 * "node CPU" is this process's CPU time per message over the measured seconds: on a shared machine it says
 * more than wall-clock rates do. "server CPU" is the same for the PostgreSQL server's processes, read from
 * /proc when the server runs on this machine ("-" otherwise, and for the embedded database, which runs
 * inside this process): the two together are what a durable message costs the machine.
 * Every commit is durable: synchronous_commit stays as the server has it (on by default).
 * Each target gets a schema of its own on the server (dropped afterwards) and its own DATA_DIR.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { performance } from "node:perf_hooks"
import {
  Content,
  Conversation,
  ConversationActor,
  ConversationCommand,
  ConversationStore,
  Event,
  IdGenerator,
  type Ids,
  Member,
  Message,
  Trusted,
} from "@chat4all/domain"
import { Effect, Layer, Redacted, Schema } from "effect"
import pg from "pg"
import { MemoryConversationStore, MemoryState } from "../src/memory/index.js"
import { Migrations, PgConversationStore, PostgresStore } from "../src/postgres/index.js"
import { SystemIdGenerator } from "../src/system/index.js"

const int = (name: string, fallback: number) => {
  const value = Number(process.env[name])
  return Number.isInteger(value) && value >= 0 ? value : fallback
}
const URL_ = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test"
const SECONDS = int("BENCH_SECONDS", 10)
const WARMUP = int("BENCH_WARMUP", 2)
const CONVERSATIONS = Math.max(1, int("BENCH_CONVERSATIONS", 100))
const SENDERS = Math.max(1, int("BENCH_SENDERS", 2000))
const POOL = Math.max(1, int("BENCH_POOL", 8))
const EMBEDDED_SECONDS = int("BENCH_EMBEDDED_SECONDS", 5)
const EMBEDDED_SENDERS = Math.max(1, int("BENCH_EMBEDDED_SENDERS", 500))
const TARGETS = new Set(
  (process.env.BENCH_TARGETS || "postgres,baseline,memory,embedded").split(",").map((t) => t.trim()),
)

const TENANTS = Math.max(1, int("BENCH_TENANTS", 1))
/** Conversation i belongs to tenant i mod TENANTS: each tenant's log is a serial point of its own. */
const tenantOf = (i: number) => (TENANTS === 1 ? "bench" : `bench-${i % TENANTS}`) as Ids.TenantId
/**
 * A draft is validated and built the way the send use case does it, with a validator compiled once (a
 * validating `new MessageDraft` compiles one per call in effect 3.22, which would measure that instead of
 * the store).
 */
const validateDraft = Schema.validateSync(Schema.Struct(Message.MessageDraft.fields))
const text = "hello, this is a benchmark message of a typical length"
const content = new Content.TextContent({ type: "text", text })

interface Result {
  readonly target: string
  readonly messages: number
  readonly seconds: number
  /** Per message through the actor; per transaction for the baseline. */
  readonly latencies: ReadonlyArray<number>
  readonly latencyOf: "message" | "transaction"
  readonly meanBatch: number
  /** Messages per database transaction (the adapter commits several conversations' batches in one). */
  readonly perTransaction: number | undefined
  /** CPU time of this node process over the measured seconds. */
  readonly cpuMs: number
  /** CPU time of the PostgreSQL server's processes over the measured seconds, when they can be read. */
  readonly serverCpuMs: number | undefined
}

/**
 * CPU time so far of every process named `postgres` on this machine, in ms, from /proc (clock ticks of
 * 10 ms); undefined where there is no /proc or no such process (a remote server).
 */
const serverCpuMs = (): number | undefined => {
  let ticks = 0
  let found = false
  let entries: Array<string>
  try {
    entries = Fs.readdirSync("/proc")
  } catch {
    return undefined
  }
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue
    let stat: string
    try {
      stat = Fs.readFileSync(`/proc/${entry}/stat`, "utf8")
    } catch {
      continue // ended meanwhile
    }
    // pid (comm) state ...: fields after the command name, utime and stime are the 12th and 13th.
    const close = stat.lastIndexOf(")")
    if (stat.slice(stat.indexOf("(") + 1, close) !== "postgres") continue
    const fields = stat.slice(close + 2).split(" ")
    ticks += Number(fields[11]) + Number(fields[12])
    found = true
  }
  return found ? ticks * 10 : undefined
}

/** Server CPU between two readings, when both could be made. */
const serverCpuBetween = (start: number | undefined, end: number | undefined) =>
  start === undefined || end === undefined ? undefined : end - start

/**
 * Database transactions, counted where every commit of the adapter starts one: a connection taken from a
 * `pg` pool (nothing else uses the pool while the bench measures).
 */
const transactions = { count: 0 }
const connect = pg.Pool.prototype.connect
pg.Pool.prototype.connect = function (this: pg.Pool, ...args: Array<unknown>) {
  transactions.count++
  return (connect as (...args: Array<unknown>) => unknown).apply(this, args)
} as typeof connect

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

const adminQuery = async (text: string) => {
  const client = new pg.Client({ connectionString: URL_ })
  await client.connect()
  try {
    return await client.query(text)
  } finally {
    await client.end()
  }
}

const freshSchema = () => `c4a_bench_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`

/** The conversations of a run: group conversations of two members, `a` and `b`. */
const conversationsFor = (at: number) =>
  Array.from({ length: CONVERSATIONS }, (_, i) => {
    const conversation = new Conversation.Conversation({
      id: `bench-c${i}` as Ids.ConversationId,
      tenantId: tenantOf(i),
      type: "group",
      metadata: {},
      members: ["a", "b"].map(
        (userId, k) =>
          new Member.Member({
            userId: userId as Ids.UserId,
            role: k === 0 ? "owner" : "member",
            joinedAt: at,
            readSeq: 0,
            deliveredSeq: 0,
          }),
      ),
      createdAt: at,
      updatedAt: at,
      lastSeq: 0,
    })
    return conversation
  })

// ---------------------------------------------------------------------------------------------------------
// Through the adapter: the conversation actor over PgConversationStore, counting commits.

const runActor = (
  target: string,
  storage: Layer.Layer<ConversationStore.ConversationStore, unknown>,
  seconds: number,
  senders: number,
  /** Whether the store writes to the PostgreSQL server, whose CPU is then read too. */
  server: boolean,
) =>
  Effect.gen(function* () {
    const stats = { commits: 0, commands: 0 }
    const counted = Layer.effect(
      ConversationStore.ConversationStore,
      Effect.map(ConversationStore.ConversationStore, (store) =>
        ConversationStore.ConversationStore.of({
          ...store,
          commit: (tenant, conversation, commands) => {
            stats.commits++
            stats.commands += commands.length
            return store.commit(tenant, conversation, commands)
          },
        }),
      ),
    )
    const program = Effect.gen(function* () {
      const store = yield* ConversationStore.ConversationStore
      const actor = yield* ConversationActor.ConversationActor
      const ids = yield* IdGenerator.IdGenerator
      const at = Date.now()
      const conversations = conversationsFor(at)
      for (const conversation of conversations) {
        const created = new Event.ConversationCreated({
          id: yield* ids.eventId,
          tenantId: conversation.tenantId,
          conversationId: conversation.id,
          at,
          type: "conversation.created",
          data: { conversation },
        })
        yield* store.create(conversation, created)
      }
      const start = performance.now()
      const measureFrom = start + WARMUP * 1000
      const measureTo = measureFrom + seconds * 1000
      const latencies: Array<number> = []
      let counted = 0
      let transactionsAtStart = 0
      let transactionsAtEnd = 0
      let commitsAtStart = 0
      let commandsAtStart = 0
      let commitsAtEnd = 0
      let commandsAtEnd = 0
      let cpuAtStart = process.cpuUsage()
      let cpu = process.cpuUsage()
      let serverAtStart: number | undefined
      let serverAtEnd: number | undefined
      // The window's marks are taken by the senders themselves, as their sends cross its edges: timers can
      // run late on a busy machine, the senders' own clocks cannot.
      let started = false
      let ended = false
      const crossing = (t: number) => {
        if (!started && t >= measureFrom) {
          started = true
          commitsAtStart = stats.commits
          transactionsAtStart = transactions.count
          commandsAtStart = stats.commands
          serverAtStart = serverCpuMs()
          cpuAtStart = process.cpuUsage()
        }
        if (!ended && t >= measureTo) {
          ended = true
          commitsAtEnd = stats.commits
          transactionsAtEnd = transactions.count
          commandsAtEnd = stats.commands
          cpu = process.cpuUsage(cpuAtStart)
          serverAtEnd = serverCpuMs()
        }
      }
      const sender = (k: number) =>
        Effect.gen(function* () {
          const conversation = conversations[k % CONVERSATIONS]!
          const senderId = (k % 2 === 0 ? "a" : "b") as Ids.UserId
          for (let n = 0; ; n++) {
            const t0 = performance.now()
            crossing(t0)
            if (t0 >= measureTo) return
            const draft = Trusted.trusted(
              Message.MessageDraft,
              validateDraft({
                senderId,
                clientMessageId: `s${k}-${n}` as Ids.ClientMessageId,
                content,
                channels: ["all"],
                metadata: {},
              }),
            )
            yield* actor.execute(
              conversation.tenantId,
              conversation.id,
              ConversationCommand.ConversationCommand.Send({
                draft,
                messageId: yield* ids.messageId,
                stamp: { eventId: yield* ids.eventId, at: Date.now() },
              }),
            )
            const t1 = performance.now()
            crossing(t1)
            if (t1 >= measureFrom && t1 < measureTo) {
              counted++
              latencies.push(t1 - t0)
            }
          }
        })
      yield* Effect.forEach(
        Array.from({ length: senders }, (_, k) => k),
        sender,
        { concurrency: "unbounded", discard: true },
      )
      const commits = commitsAtEnd - commitsAtStart
      return {
        target,
        messages: counted,
        seconds,
        latencies,
        latencyOf: "message",
        meanBatch: commits === 0 ? 0 : (commandsAtEnd - commandsAtStart) / commits,
        perTransaction:
          transactionsAtEnd === transactionsAtStart
            ? undefined
            : (commandsAtEnd - commandsAtStart) / (transactionsAtEnd - transactionsAtStart),
        cpuMs: (cpu.user + cpu.system) / 1000,
        serverCpuMs: server ? serverCpuBetween(serverAtStart, serverAtEnd) : undefined,
      } satisfies Result
    })
    return yield* program.pipe(
      Effect.provide(
        Layer.mergeAll(
          ConversationActor.layer({ ...ConversationActor.defaults, maxBatch: 256 }).pipe(
            Layer.provideMerge(counted),
          ),
          SystemIdGenerator.layer,
        ).pipe(Layer.provide(storage)),
      ),
    )
  })

/** The PostgreSQL ConversationStore over a client, after the migrations. */
const pgStorage = (client: Layer.Layer<PostgresStore.PgClientServices, unknown>) =>
  PgConversationStore.layer.pipe(Layer.provide(Migrations.layer), Layer.provide(client))

// ---------------------------------------------------------------------------------------------------------
// Baseline: raw pg, multi-row INSERTs of the same rows, one transaction per batch.

const runBaseline = async (
  target: string,
  schema: string,
  batch: number,
  seconds: number,
): Promise<Result> => {
  const pool = new pg.Pool({ connectionString: URL_, max: POOL, options: `-c search_path=${schema}` })
  const at = Date.now()
  // Each writer owns its conversations and its tenant, as the actor owns a conversation: no contention
  // but the database's own.
  const writers = Array.from({ length: POOL }, (_, w) => ({
    tenant: `bench-raw-${w}`,
    conversations: Array.from({ length: Math.ceil(CONVERSATIONS / POOL) }, (_, i) => ({
      id: `raw-c${w}-${i}`,
      seq: 0,
    })),
    position: 0,
  }))
  for (const writer of writers)
    for (const c of writer.conversations)
      await pool.query(
        `INSERT INTO conversations (tenant_id, id, type, metadata, created_at, updated_at, last_seq)
         VALUES ($1, $2, 'group', '{}', $3, $3, 0)`,
        [writer.tenant, c.id, at],
      )
  const contentJson = JSON.stringify({ type: "text", text })
  const start = performance.now()
  const measureFrom = start + WARMUP * 1000
  const measureTo = measureFrom + seconds * 1000
  const latencies: Array<number> = []
  let counted = 0
  let n = 0
  let cpuAtStart = process.cpuUsage()
  let serverAtStart: number | undefined
  const mark = setTimeout(() => {
    serverAtStart = serverCpuMs()
    cpuAtStart = process.cpuUsage()
  }, WARMUP * 1000)
  const writer = async (w: (typeof writers)[number]) => {
    const client = await pool.connect()
    try {
      for (let round = 0; ; round++) {
        const t0 = performance.now()
        if (t0 >= measureTo) return
        const conversation = w.conversations[round % w.conversations.length]!
        const now = Date.now()
        const messageValues: Array<string> = []
        const messageParams: Array<unknown> = [w.tenant, conversation.id, now, contentJson, '["all"]', "{}"]
        const eventValues: Array<string> = []
        const eventParams: Array<unknown> = [w.tenant, conversation.id, now]
        const outboxValues: Array<string> = []
        for (let i = 0; i < batch; i++) {
          const seq = ++conversation.seq
          const position = ++w.position
          const id = `${now}-00000000-0000-4000-8000-${(++n).toString(16).padStart(12, "0")}`
          const p = messageParams.length
          messageParams.push(seq, id, `raw${n}`)
          messageValues.push(`($1, $2, $${p + 1}, $${p + 2}, 'a', $${p + 3}, $4, NULL, $5, $6, $3)`)
          const e = eventParams.length
          eventParams.push(position, id.replace("-00000000-", "-11111111-"), id)
          eventValues.push(`($1, $${e + 1}, $${e + 2}, $2, 'message.created', $3, NULL, $${e + 3}, NULL)`)
          outboxValues.push(`($1, $${e + 1}, $3)`)
        }
        await client.query("BEGIN")
        await client.query(
          `INSERT INTO messages (tenant_id, conversation_id, seq, id, sender_id, client_message_id, content, reply_to,
                                 channels, metadata, created_at)
           VALUES ${messageValues.join(", ")}`,
          messageParams,
        )
        await client.query(
          `WITH e AS (
             INSERT INTO events (tenant_id, position, id, conversation_id, type, at, subject_id, message_id, data)
             VALUES ${eventValues.join(", ")}
           )
           INSERT INTO outbox (tenant_id, position, at) VALUES ${outboxValues.join(", ")}`,
          eventParams,
        )
        await client.query(
          "UPDATE conversations SET last_seq = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
          [w.tenant, conversation.id, conversation.seq, now],
        )
        await client.query("COMMIT")
        const t1 = performance.now()
        if (t1 >= measureFrom && t1 < measureTo) {
          counted += batch
          latencies.push(t1 - t0)
        }
      }
    } finally {
      client.release()
    }
  }
  await Promise.all(writers.map(writer))
  const cpu = process.cpuUsage(cpuAtStart)
  const serverAtEnd = serverCpuMs()
  await pool.end()
  clearTimeout(mark)
  return {
    target,
    messages: counted,
    seconds,
    latencies,
    latencyOf: "transaction",
    meanBatch: batch,
    perTransaction: batch,
    cpuMs: (cpu.user + cpu.system) / 1000,
    serverCpuMs: serverCpuBetween(serverAtStart, serverAtEnd),
  }
}

// ---------------------------------------------------------------------------------------------------------

const withSchema = async <A>(f: (schema: string) => Promise<A>): Promise<A> => {
  const schema = freshSchema()
  await adminQuery(`CREATE SCHEMA ${schema}`)
  try {
    return await f(schema)
  } finally {
    await adminQuery(`DROP SCHEMA ${schema} CASCADE`)
  }
}

const migrate = (schema: string) =>
  Effect.runPromise(
    Effect.scoped(
      Layer.build(
        Migrations.layer.pipe(
          Layer.provide(PostgresStore.clientLayer({ url: Redacted.make(URL_), schema, maxConnections: 1 })),
        ),
      ),
    ),
  )

const main = async () => {
  const load0 = Os.loadavg()[0]!
  const version = (await adminQuery("SELECT version() AS v, current_setting('synchronous_commit') AS sc"))
    .rows[0] as {
    v: string
    sc: string
  }
  const results: Array<Result> = []
  const log = (r: Result) =>
    console.error(`  ${r.target}: ${Math.round(r.messages / r.seconds).toLocaleString("en-US")} msgs/s`)
  console.error(
    `bench:store: ${CONVERSATIONS} conversations, ${SENDERS} senders, pool ${POOL}, ${SECONDS} s per target`,
  )

  const adapter = TARGETS.has("postgres")
    ? await withSchema((schema) =>
        Effect.runPromise(
          runActor(
            "adapter: actor -> PostgreSQL",
            pgStorage(PostgresStore.clientLayer({ url: Redacted.make(URL_), schema, maxConnections: POOL })),
            SECONDS,
            SENDERS,
            true,
          ),
        ),
      )
    : undefined
  if (adapter !== undefined) log(adapter)
  // The same actor path over the memory store: what the domain costs without any database.
  const memory = TARGETS.has("memory")
    ? await Effect.runPromise(
        runActor(
          "reference: actor -> memory store",
          MemoryConversationStore.layer.pipe(Layer.provide(MemoryState.layer)),
          SECONDS,
          SENDERS,
          false,
        ),
      )
    : undefined
  if (memory !== undefined) log(memory)
  let baseline: Result | undefined
  if (TARGETS.has("baseline")) {
    // The same rows per transaction as the adapter wrote: its commits carry several conversations each.
    const sameBatch = Math.max(1, Math.round(adapter?.perTransaction ?? adapter?.meanBatch ?? 64))
    baseline = await withSchema(async (schema) => {
      await migrate(schema)
      const label = adapter === undefined ? `batch ${sameBatch}` : `batch ${sameBatch} (adapter's msgs/tx)`
      return runBaseline(`baseline: raw pg, ${label}`, schema, sameBatch, SECONDS)
    })
    log(baseline)
    results.push(baseline)
    const big = await withSchema(async (schema) => {
      await migrate(schema)
      return runBaseline("baseline: raw pg, batch 256", schema, 256, SECONDS)
    })
    log(big)
    results.push(big)
  }
  if (adapter !== undefined) results.push(adapter)
  if (memory !== undefined) results.push(memory)

  if (TARGETS.has("embedded") && EMBEDDED_SECONDS > 0) {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "chat4all-store-bench-"))
    try {
      const embedded = await Effect.runPromise(
        runActor(
          "adapter: actor -> embedded PGlite",
          pgStorage(PostgresStore.embeddedClientLayer(dataDir)),
          EMBEDDED_SECONDS,
          EMBEDDED_SENDERS,
          false,
        ),
      )
      log(embedded)
      results.push(embedded)
    } finally {
      Fs.rmSync(dataDir, { recursive: true, force: true })
    }
  }
  const load1 = Os.loadavg()[0]!

  const cpu = Os.cpus()
  console.log(
    `\nStore: durable sends, ${CONVERSATIONS} conversations of 2 members, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
  )
  console.log(
    `${cpu.length} x ${cpu[0]?.model.trim() ?? "cpu"}, node ${process.version}${process.execArgv.length > 0 ? ` (${process.execArgv.join(" ")})` : ""}, ${version.v.split(" on ")[0]}, ` +
      `synchronous_commit=${version.sc}, pool ${POOL}, load average ${load0.toFixed(1)} at start, ${load1.toFixed(1)} at end\n`,
  )
  const rows = results.map((r) => {
    const sorted = [...r.latencies].sort((a, b) => a - b)
    const rate = r.messages / r.seconds
    return [
      r.target,
      r.latencyOf === "message"
        ? String(r.target.includes("embedded") ? EMBEDDED_SENDERS : SENDERS)
        : String(POOL),
      r.messages.toLocaleString("en-US"),
      Math.round(rate).toLocaleString("en-US"),
      baseline === undefined
        ? "-"
        : r === baseline
          ? "1"
          : (rate / (baseline.messages / baseline.seconds)).toFixed(2),
      percentile(sorted, 50).toFixed(1),
      percentile(sorted, 99).toFixed(1),
      r.latencyOf,
      r.meanBatch.toFixed(1),
      r.perTransaction === undefined ? "-" : r.perTransaction.toFixed(1),
      r.messages === 0 ? "-" : ((r.cpuMs * 1000) / r.messages).toFixed(0),
      r.messages === 0 || r.serverCpuMs === undefined
        ? "-"
        : ((r.serverCpuMs * 1000) / r.messages).toFixed(0),
    ]
  })
  const header = [
    "target",
    "writers",
    "msgs",
    "msgs/s",
    "x baseline",
    "p50 ms",
    "p99 ms",
    "latency of",
    "mean batch",
    "msgs/tx",
    "node CPU µs/msg",
    "server CPU µs/msg",
  ]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((c, i) => (i === 0 || i === 7 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`
  console.log(line(header))
  // The delimiter row as biome formats Markdown, so the table pastes into docs/benchmarks.md unchanged.
  console.log(
    `| ${widths.map((w, i) => (i === 0 || i === 7 ? `:${"-".repeat(w - 1)}` : `${"-".repeat(w - 1)}:`)).join(" | ")} |`,
  )
  for (const row of rows) console.log(line(row))
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})

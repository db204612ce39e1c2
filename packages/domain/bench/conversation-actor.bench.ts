/**
 * Messages per second through the conversation actor, beside a bare-array baseline measured in the same run.
 *
 *   npm run bench:domain            about 45 s on 2 cores
 *   BENCH_SECONDS=2                 seconds per actor scenario (default 2.5)
 *   BENCH_SENDERS=1000              concurrent senders in the concurrent scenarios
 *   BENCH_MEMBERS=10                members per conversation (senders are members)
 *
 * Rows, each over 1, 10 and 100 group conversations on the memory storage adapter:
 * - baseline: a bare loop appending plain message objects to one array per conversation;
 * - Schema class: the same loop building `Message` Schema classes (the validation a decided message pays);
 * - decider: `ConversationDecider.decideBatch` alone on prepared `Send` commands, in batches of the size the
 *   actor reached (pure, no Effect, no store), so the rest of the actor's cost can be told apart;
 * - actor: `ConversationActor.execute` with a `ConversationCommand.Send` built as the use case builds it;
 * - use case: `Messages.sendMessage`, the path every edge takes.
 * `mean batch` is commands per `ConversationStore.commit`, counted by a wrapper around the memory store (no
 * domain code changes): it shows how far group commit batches. `GC %` is the share of the scenario's wall time
 * spent in garbage collection (perf_hooks "gc" entries). `msgs/CPU-s` divides by the process's CPU time instead
 * of wall time, which holds up better than msgs/s when other processes share the cores; `x baseline` compares
 * msgs/CPU-s with the baseline's.
 */
import os from "node:os"
import { PerformanceObserver, performance } from "node:perf_hooks"
import v8 from "node:v8"
import vm from "node:vm"
import { storageLayer } from "@chat4all/adapters/memory"
import {
  Caller,
  Content,
  Conversation,
  ConversationActor,
  ConversationCommand,
  ConversationDecider,
  ConversationStore,
  Conversations,
  IdGenerator,
  type Ids,
  Member,
  Message,
  Messages,
} from "@chat4all/domain"
import { Clock, Effect, Layer, ManagedRuntime } from "effect"
// `@chat4all/domain/testing` also exports the vitest suites, which refuse to load outside vitest.
import * as TestIdGenerator from "../src/testing/TestIdGenerator.js"

const env = (name: string, fallback: number) => {
  const value = Number(process.env[name])
  return Number.isFinite(value) && value > 0 ? value : fallback
}
const SECONDS = env("BENCH_SECONDS", 2.5)
const SENDERS = env("BENCH_SENDERS", 1_000)
const MEMBERS = env("BENCH_MEMBERS", 10)
const CONVERSATIONS = [1, 10, 100] as const

const tenantId = "bench" as Ids.TenantId
const userId = (i: number) => `u${i % MEMBERS}` as Ids.UserId
const admin = new Caller.Caller({ tenantId, userId: "svc" as Ids.UserId, role: "service" })
const callers = Array.from(
  { length: MEMBERS },
  (_, i) => new Caller.Caller({ tenantId, userId: userId(i), role: "user" }),
)
const content = new Content.TextContent({ type: "text", text: "hello, this is a benchmark message" })
const uuid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`

interface Result {
  readonly scenario: string
  readonly conversations: number
  readonly senders: number | undefined
  readonly messages: number
  readonly seconds: number
  /** Process CPU time (user + system, all threads) over the scenario: robust to a busy machine. */
  readonly cpuSeconds: number
  readonly gcSeconds: number
  readonly latencies?: ReadonlyArray<number>
  readonly meanBatch?: number
}

// Garbage collection time, summed over whatever runs between two reads.
let gcMillis = 0
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMillis += entry.duration
}).observe({ entryTypes: ["gc"] })

// A full collection before each scenario, so none pays for the garbage of the one before it.
v8.setFlagsFromString("--expose-gc")
const collectGarbage = vm.runInNewContext("gc") as () => void

/** Runs `body` and measures its wall time and the GC time inside it (GC entries arrive a little late). */
const measure = async <A>(body: () => A | Promise<A>) => {
  collectGarbage()
  await new Promise((resolve) => setTimeout(resolve, 50))
  const gc0 = gcMillis
  const cpu0 = process.cpuUsage()
  const started = performance.now()
  const value = await body()
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpu0)
  await new Promise((resolve) => setTimeout(resolve, 20))
  return { value, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, gcSeconds: (gcMillis - gc0) / 1000 }
}

// ---------------------------------------------------------------------------------------------------------
// Baselines and the pure decider

const baselinePlain = async (conversations: number, messages: number): Promise<Result> => {
  const logs: Array<Array<unknown>> = Array.from({ length: conversations }, () => [])
  const { seconds, cpuSeconds, gcSeconds } = await measure(() => {
    for (let i = 0; i < messages; i++) {
      const log = logs[i % conversations]!
      const now = Date.now()
      log.push({
        id: `${now}-${uuid(i)}`,
        tenantId,
        conversationId: `c${i % conversations}`,
        seq: log.length + 1,
        senderId: userId(i),
        clientMessageId: `m${i}`,
        content: { type: "text", text: content.text },
        channels: ["all"],
        metadata: {},
        createdAt: now,
        status: "sent",
      })
    }
  })
  if (logs.reduce((n, l) => n + l.length, 0) !== messages) throw new Error("baseline lost messages")
  return {
    scenario: "baseline: array push",
    conversations,
    senders: undefined,
    messages,
    seconds,
    cpuSeconds,
    gcSeconds,
  }
}

const baselineSchema = async (conversations: number, budget: number): Promise<Result> => {
  const logs: Array<Array<Message.Message>> = Array.from({ length: conversations }, () => [])
  let messages = 0
  const { seconds, cpuSeconds, gcSeconds } = await measure(() => {
    const deadline = performance.now() + budget * 1000
    while (performance.now() < deadline) {
      for (let k = 0; k < 100; k++, messages++) {
        const log = logs[messages % conversations]!
        const now = Date.now()
        log.push(
          new Message.Message({
            id: `${now}-${uuid(messages)}` as Ids.MessageId,
            tenantId,
            conversationId: `c${messages % conversations}` as Ids.ConversationId,
            seq: log.length + 1,
            senderId: userId(messages),
            clientMessageId: `m${messages}` as Ids.ClientMessageId,
            content,
            channels: ["all"],
            metadata: {},
            createdAt: now,
            status: "sent",
          }),
        )
      }
    }
  })
  return {
    scenario: "Schema class: new Message",
    conversations,
    senders: undefined,
    messages,
    seconds,
    cpuSeconds,
    gcSeconds,
  }
}

/**
 * The decider alone: `Send` commands prepared up front, decided in batches of `batch` per conversation, the
 * state reloaded between batches with only the conversation (as a store loads the slice a commit needs).
 */
const deciderOnly = async (conversations: number, batch: number, messages: number): Promise<Result> => {
  const members = Array.from(
    { length: MEMBERS },
    (_, i) =>
      new Member.Member({ userId: userId(i), role: "member", joinedAt: 0, readSeq: 0, deliveredSeq: 0 }),
  )
  const states = Array.from({ length: conversations }, (_, c) =>
    ConversationDecider.initialState(
      new Conversation.Conversation({
        id: `c${c}` as Ids.ConversationId,
        tenantId,
        type: "group",
        metadata: {},
        members,
        createdAt: 0,
        updatedAt: 0,
        lastSeq: 0,
      }),
    ),
  )
  const now = Date.now()
  const commands = Array.from({ length: messages }, (_, i) =>
    ConversationCommand.ConversationCommand.Send({
      draft: new Message.MessageDraft({
        senderId: userId(i),
        clientMessageId: `m${i}` as Ids.ClientMessageId,
        content,
        channels: ["all"],
        metadata: {},
      }),
      messageId: `${now}-${uuid(i)}` as Ids.MessageId,
      stamp: { eventId: `${now}-${uuid(messages + i)}` as Ids.EventId, at: now },
    }),
  )
  const size = Math.max(1, Math.round(batch))
  const { seconds, cpuSeconds, gcSeconds } = await measure(() => {
    for (let from = 0, c = 0; from < messages; from += size, c = (c + 1) % conversations) {
      const decided = ConversationDecider.decideBatch(states[c]!, commands.slice(from, from + size))
      states[c] = ConversationDecider.initialState(decided.state.conversation)
    }
  })
  const committed = states.reduce((n, s) => n + s.conversation.lastSeq, 0)
  if (committed !== messages) throw new Error(`decider: committed ${committed} of ${messages}`)
  return {
    scenario: "decider: decideBatch only",
    conversations,
    senders: undefined,
    messages,
    seconds,
    cpuSeconds,
    gcSeconds,
    meanBatch: size,
  }
}

// ---------------------------------------------------------------------------------------------------------
// The actor on memory storage

/** Counts commits and the commands they carry, around whatever store is below. */
const countingStore = (stats: { commits: number; commands: number }) =>
  Layer.effect(
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

const makeRuntime = (stats: { commits: number; commands: number }) => {
  const storage = storageLayer
  const actor = ConversationActor.layer().pipe(
    Layer.provide(countingStore(stats).pipe(Layer.provide(storage))),
  )
  return ManagedRuntime.make(Layer.mergeAll(actor, storage, TestIdGenerator.layer))
}

type Path = "actor" | "use case"

/** One send on the actor path: the draft, ids and stamp the use case makes, then `execute`. */
const sendViaActor = (conversationId: Ids.ConversationId, sender: number, clientMessageId: string) =>
  Effect.gen(function* () {
    const ids = yield* IdGenerator.IdGenerator
    const actor = yield* ConversationActor.ConversationActor
    const draft = new Message.MessageDraft({
      senderId: userId(sender),
      clientMessageId: clientMessageId as Ids.ClientMessageId,
      content,
      channels: ["all"],
      metadata: {},
    })
    const messageId = yield* ids.messageId
    const stamp = { eventId: yield* ids.eventId, at: yield* Clock.currentTimeMillis }
    return yield* actor.execute(
      tenantId,
      conversationId,
      ConversationCommand.ConversationCommand.Send({ draft, messageId, stamp }),
    )
  })

const sendViaUseCase = (conversationId: Ids.ConversationId, sender: number, clientMessageId: string) =>
  Messages.sendMessage(callers[sender % MEMBERS]!, conversationId, {
    clientMessageId: clientMessageId as Ids.ClientMessageId,
    content,
  })

/** `senders` fibers, each sending to one conversation as a member and waiting for each answer, for `budget` s. */
const actorScenario = async (
  path: Path,
  conversations: number,
  senders: number,
  budget: number,
): Promise<Result> => {
  const stats = { commits: 0, commands: 0 }
  const runtime = makeRuntime(stats)
  try {
    const ids = await runtime.runPromise(
      Effect.forEach(
        Array.from({ length: conversations }, (_, i) => i),
        () =>
          Effect.map(
            Conversations.createConversation(admin, {
              type: "group",
              members: Array.from({ length: MEMBERS }, (_, i) => userId(i)),
            }),
            (r) => r.conversation.id,
          ),
      ),
    )
    const send = path === "actor" ? sendViaActor : sendViaUseCase
    const latencies: Array<number> = []
    let deadline = 0
    const program = Effect.forEach(
      Array.from({ length: senders }, (_, s) => s),
      (s) =>
        Effect.gen(function* () {
          const conversationId = ids[s % conversations]!
          for (let k = 0; performance.now() < deadline; k++) {
            const t0 = performance.now()
            const result = yield* send(conversationId, s, `s${s}-m${k}`)
            latencies.push(performance.now() - t0)
            if (result._tag !== "Sent" || result.replayed)
              return yield* Effect.dieMessage("unexpected answer")
          }
        }),
      { concurrency: "unbounded", discard: true },
    )
    const { seconds, cpuSeconds, gcSeconds } = await measure(() => {
      deadline = performance.now() + budget * 1000
      return runtime.runPromise(program)
    })
    // Every answered send committed exactly once, with a gapless seq per conversation.
    const lastSeqs = await runtime.runPromise(
      Effect.flatMap(ConversationStore.ConversationStore, (store) =>
        Effect.forEach(ids, (id) =>
          Effect.map(store.get(tenantId, id), (c) => (c._tag === "Some" ? c.value.lastSeq : -1)),
        ),
      ),
    )
    const committed = lastSeqs.reduce((a, b) => a + b, 0)
    if (committed !== latencies.length)
      throw new Error(`${path}: committed ${committed} of ${latencies.length}`)
    return {
      scenario: path === "actor" ? "actor: execute(Send)" : "use case: sendMessage",
      conversations,
      senders,
      messages: latencies.length,
      seconds,
      cpuSeconds,
      gcSeconds,
      latencies,
      meanBatch: stats.commands / stats.commits,
    }
  } finally {
    await runtime.dispose()
  }
}

// ---------------------------------------------------------------------------------------------------------
// Report

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n)
    ? "-"
    : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })

const row = (r: Result, baseline: Result) => {
  const rate = r.messages / r.seconds
  // Compared per CPU-second: wall-clock ratios move with whatever else the machine is running.
  const ratio = r.messages / r.cpuSeconds / (baseline.messages / baseline.cpuSeconds)
  const sorted = r.latencies === undefined ? undefined : [...r.latencies].sort((a, b) => a - b)
  return [
    r.scenario,
    String(r.conversations),
    r.senders === undefined ? "-" : String(r.senders),
    fmt(r.messages),
    fmt(rate),
    fmt(r.messages / r.cpuSeconds),
    r === baseline ? "1" : ratio >= 0.1 ? ratio.toFixed(2) : ratio.toExponential(1),
    sorted === undefined ? "-" : fmt(percentile(sorted, 0.5), 2),
    sorted === undefined ? "-" : fmt(percentile(sorted, 0.99), 2),
    fmt(r.meanBatch, 1),
    fmt((100 * r.gcSeconds) / r.seconds),
  ]
}

const table = (rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const header = [
    "scenario",
    "convs",
    "senders",
    "msgs",
    "msgs/s",
    "msgs/CPU-s",
    "x baseline",
    "p50 ms",
    "p99 ms",
  ]
  header.push("mean batch", "GC %")
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)))
  const line = (r: ReadonlyArray<string>) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`
  // The delimiter row as biome formats Markdown, so the table pastes into docs/benchmarks.md unchanged.
  const rule = `| ${widths.map((w, i) => (i === 0 ? `:${"-".repeat(w - 1)}` : `${"-".repeat(w - 1)}:`)).join(" | ")} |`
  return [line(header), rule, ...rows.map(line)].join("\n")
}

const main = async () => {
  const started = performance.now()
  const load0 = os.loadavg()[0]!
  // Warm up the JIT on every path; results thrown away.
  await baselinePlain(10, 200_000)
  await baselineSchema(10, 0.3)
  await deciderOnly(10, 64, 2_000)
  await actorScenario("actor", 10, 100, 0.7)
  await actorScenario("use case", 10, 100, 0.7)

  const rows: Array<Array<string>> = []
  for (const conversations of CONVERSATIONS) {
    const baseline = await baselinePlain(conversations, 500_000)
    rows.push(row(baseline, baseline))
    rows.push(row(await baselineSchema(conversations, 0.5), baseline))
    const actor = await actorScenario("actor", conversations, SENDERS, SECONDS)
    rows.push(row(await deciderOnly(conversations, actor.meanBatch ?? 1, 3_000), baseline))
    rows.push(row(actor, baseline))
    rows.push(row(await actorScenario("use case", conversations, SENDERS, SECONDS), baseline))
    if (conversations === 1) {
      // One sender waiting for each answer: nothing to batch, the bare round trip through the actor.
      rows.push(row(await actorScenario("actor", 1, 1, SECONDS / 2), baseline))
      rows.push(row(await actorScenario("use case", 1, 1, SECONDS / 2), baseline))
    }
  }
  const cpus = os.cpus()
  console.log(
    `\nDomain: conversation actor on memory storage, ${MEMBERS} members per conversation, ` +
      `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC\n` +
      `${cpus.length} x ${cpus[0]?.model.trim() ?? "?"}, node ${process.version}, ` +
      `load average ${load0.toFixed(1)} at start, ${os.loadavg()[0]!.toFixed(1)} at end\n`,
  )
  console.log(table(rows))
  console.log(`\n(total ${((performance.now() - started) / 1000).toFixed(1)} s)`)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})

/**
 * `npm run bench:http`: throughput and latency of the HTTP API under autocannon, beside a baseline in the
 * same run (a bare node:http server answering a fixed JSON body to the same requests).
 *
 * Scenarios, for one user of one tenant who has 1,000 conversations (each with a message):
 * - send, 1 conversation: POST messages to one hot conversation (every request a new clientMessageId)
 * - send, 1k conversations: the same, spread round-robin over the 1,000 conversations
 * - list conversations: GET /v1/conversations (50 per page, with lastMessage and unreadCount)
 *
 * Targets: `baseline`, `memory` (every port in memory), `embedded` (the default: PGlite under a temp
 * DATA_DIR), and `postgres` when DATABASE_URL is set. Servers run as esbuild bundles with plain node (as
 * the shipped binary does), each in its own process. After the send scenarios it checks that every 201
 * became exactly one message (lastSeq). Options (env): BENCH_DURATION (s, 10), BENCH_CONNECTIONS (32),
 * BENCH_TARGETS (e.g. `baseline,memory`).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import autocannon, { type Result } from "autocannon"
import { Effect } from "effect"
import * as Jwt from "../src/auth/Jwt.js"

const here = import.meta.dirname
const buildScript = Path.join(here, "../scripts/build.mjs")
const duration = Number(process.env.BENCH_DURATION ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32)
const secret = "chat4all-bench-secret-0123456789abcdef"
const conversationsPerUser = 1000

interface Server {
  readonly url: string
  /** CPU seconds (user + system) the server process has used so far (Linux /proc), undefined elsewhere. */
  readonly cpuSeconds: () => number | undefined
  readonly stop: () => Promise<void>
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const ticksPerSecond = 100

const cpuSecondsOf = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
  } catch {
    return undefined
  }
}

/**
 * Bundles a server entry with the app's build (esbuild, as `npm run build` does) so that it runs with plain
 * node, as the shipped binary does: no TypeScript loader in the measured process.
 */
const bundle = (entry: string, outDir: string): string => {
  const outfile = Path.join(outDir, `${Path.basename(entry, ".ts")}.mjs`)
  const built = spawnSync(process.execPath, [buildScript, entry, outfile], { encoding: "utf8" })
  if (built.status !== 0) throw new Error(`bundling ${entry} failed:\n${built.stderr}`)
  return outfile
}

/** Starts a child process that prints `READY <url>`; stopped with SIGTERM (by its pid). */
const spawnServer = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Server> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    })
    let out = ""
    const timer = setTimeout(() => reject(new Error(`no READY from ${args.join(" ")} within 120 s`)), 120_000)
    child.stdout?.on("data", (chunk) => {
      out += chunk
      const match = /READY (\S+)/.exec(out)
      if (match?.[1] !== undefined) {
        clearTimeout(timer)
        resolve({
          url: match[1],
          cpuSeconds: () => cpuSecondsOf(child.pid),
          stop: () =>
            new Promise((done) => {
              child.once("exit", () => done())
              child.kill("SIGTERM")
            }),
        })
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`${args.join(" ")} exited with ${code}`))
    })
  })

const json = async (url: string, init: RequestInit) => {
  const response = await fetch(url, init)
  const text = await response.text()
  if (!response.ok) throw new Error(`${init.method ?? "GET"} ${url}: ${response.status} ${text}`)
  return { status: response.status, text, body: JSON.parse(text) }
}

/** Runs `task` over `items` with at most `width` at a time. */
const pool = async <A, B>(items: ReadonlyArray<A>, width: number, task: (item: A) => Promise<B>) => {
  const out: Array<B> = []
  let next = 0
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await task(items[i]!)
      }
    }),
  )
  return out
}

interface Fixture {
  readonly headers: Record<string, string>
  readonly hot: string
  readonly conversations: ReadonlyArray<string>
  readonly sampleSend: string
  readonly sampleList: string
}

/** One user with 1,000 conversations, each with a message, and a hot conversation for sends. */
const seed = async (url: string): Promise<Fixture> => {
  const token = await Effect.runPromise(Jwt.sign(secret, { sub: "alice", tid: "bench" }, 3600))
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
  const create = (title: string) =>
    json(`${url}/v1/conversations`, {
      method: "POST",
      headers,
      body: JSON.stringify({ type: "group", members: ["bob", "carol"], title }),
    }).then((r) => r.body.id as string)
  const started = Date.now()
  const hot = await create("hot")
  const conversations = await pool(
    Array.from({ length: conversationsPerUser }, (_, i) => i),
    16,
    async (i) => {
      const id = await create(`conversation ${i}`)
      await json(`${url}/v1/conversations/${id}/messages`, {
        method: "POST",
        headers,
        body: JSON.stringify({ clientMessageId: `seed-${i}`, content: { type: "text", text: `hello ${i}` } }),
      })
      return id
    },
  )
  const sampleSend = (
    await json(`${url}/v1/conversations/${hot}/messages`, {
      method: "POST",
      headers,
      body: JSON.stringify({ clientMessageId: "sample", content: { type: "text", text: "sample" } }),
    })
  ).text
  const sampleList = (await json(`${url}/v1/conversations`, { headers })).text
  console.error(
    `  seeded ${conversationsPerUser + 1} conversations in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  )
  return { headers, hot, conversations, sampleSend, sampleList }
}

let counter = 0
const sendBody = () =>
  JSON.stringify({
    clientMessageId: `b-${process.pid}-${counter++}`,
    content: { type: "text", text: "benchmark" },
  })

const sendTo = (pick: () => string, headers: Record<string, string>) => ({
  method: "POST",
  headers,
  setupRequest: (request: { path?: string; body?: string }) => ({
    ...request,
    method: "POST",
    path: `/v1/conversations/${pick()}/messages`,
    body: sendBody(),
  }),
})

interface Measured {
  readonly result: Result
  /** Requests per CPU-second of the server process: comparable on a machine shared with other work. */
  readonly perCpuSecond: number | undefined
}

const run = async (
  server: Server,
  request: Parameters<typeof autocannon>[0]["requests"],
): Promise<Measured> => {
  const cpuBefore = server.cpuSeconds()
  const result = await autocannon({
    url: server.url,
    connections,
    duration,
    ...(request === undefined ? {} : { requests: request }),
  })
  const cpuAfter = server.cpuSeconds()
  const cpu = cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore
  return { result, perCpuSecond: cpu === undefined || cpu <= 0 ? undefined : result["2xx"] / cpu }
}

interface Row extends Measured {
  readonly scenario: string
  readonly target: string
}

const rows: Array<Row> = []
const record = (scenario: string, target: string, measured: Measured) => {
  rows.push({ scenario, target, ...measured })
  const { result, perCpuSecond } = measured
  const bad = result.errors + result.timeouts + result.non2xx
  console.error(
    `  ${scenario.padEnd(24)} ${target.padEnd(9)} ${Math.round(result.requests.average).toString().padStart(7)} req/s` +
      `  ${perCpuSecond === undefined ? "" : `${Math.round(perCpuSecond)} req/CPU-s  `}` +
      `p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms${bad > 0 ? `  (${bad} errors/non-2xx)` : ""}`,
  )
}

const lastSeq = async (url: string, fixture: Fixture, id: string) =>
  (await json(`${url}/v1/conversations/${id}`, { headers: fixture.headers })).body.lastSeq as number

const benchApp = async (target: string, args: ReadonlyArray<string>, env: Record<string, string>) => {
  console.error(`${target}:`)
  const server = await spawnServer(args, {
    CHAT4ALL_JWT_SECRET: secret,
    CHAT4ALL_RATE_LIMITS: "off",
    LOG_LEVEL: "warn",
    ...env,
  })
  try {
    const fixture = await seed(server.url)
    const before = await lastSeq(server.url, fixture, fixture.hot)
    const hotRun = await run(server, [sendTo(() => fixture.hot, fixture.headers)])
    const hot = hotRun.result
    record("send, 1 conversation", target, hotRun)
    // Requests still in flight when the run stops are committed but not counted: at most one per connection.
    const moved = (await lastSeq(server.url, fixture, fixture.hot)) - before
    if (moved < hot["2xx"] || moved > hot["2xx"] + connections)
      throw new Error(`${target}: ${hot["2xx"]} sends answered 201 but lastSeq moved by ${moved}`)
    console.error(`  no send lost: ${hot["2xx"]} answered 201, lastSeq moved by ${moved} (gapless)`)
    let i = 0
    const spread = await run(server, [
      sendTo(() => fixture.conversations[i++ % fixture.conversations.length]!, fixture.headers),
    ])
    record("send, 1k conversations", target, spread)
    const list = await run(server, [{ method: "GET", path: "/v1/conversations", headers: fixture.headers }])
    record("list conversations (1k)", target, list)
    return fixture
  } finally {
    await server.stop()
  }
}

const benchBaseline = async (fixture: Fixture) => {
  console.error("baseline (node:http, fixed body):")
  const send = await spawnServer([baselineEntry, fixture.sampleSend, "201"])
  try {
    record("send, 1 conversation", "baseline", await run(send, [sendTo(() => fixture.hot, fixture.headers)]))
  } finally {
    await send.stop()
  }
  const list = await spawnServer([baselineEntry, fixture.sampleList, "200"])
  try {
    record(
      "list conversations (1k)",
      "baseline",
      await run(list, [{ method: "GET", path: "/v1/conversations", headers: fixture.headers }]),
    )
  } finally {
    await list.stop()
  }
}

const targets = new Set(
  (
    process.env.BENCH_TARGETS ?? `baseline,memory,embedded${process.env.DATABASE_URL ? ",postgres" : ""}`
  ).split(","),
)
const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "chat4all-http-bench-"))
const buildDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "chat4all-http-bench-build-"))
const serverEntry = bundle(Path.join(here, "server.ts"), Path.join(buildDir, "server"))
const baselineEntry = bundle(Path.join(here, "baseline.ts"), Path.join(buildDir, "baseline"))
const cpus = Os.cpus()
console.error(
  `chat4all bench:http — ${cpus.length} cores (${cpus[0]?.model.trim() ?? "unknown"}), node ${process.version}, ` +
    `${connections} connections, ${duration} s per scenario, load average ${Os.loadavg()[0]?.toFixed(1)}\n`,
)
try {
  let fixture: Fixture | undefined
  const noDatabase = { DATABASE_URL: "" }
  if (targets.has("memory")) fixture = await benchApp("memory", [serverEntry, "memory"], noDatabase)
  if (targets.has("embedded"))
    fixture = await benchApp("embedded", [serverEntry, "default"], { ...noDatabase, DATA_DIR: dataDir })
  if (targets.has("postgres") && process.env.DATABASE_URL)
    fixture = await benchApp("postgres", [serverEntry, "default"], {})
  if (targets.has("baseline")) {
    if (fixture === undefined)
      throw new Error("the baseline answers with bodies taken from an app target: add one")
    await benchBaseline(fixture)
  }
} finally {
  Fs.rmSync(dataDir, { recursive: true, force: true })
  Fs.rmSync(buildDir, { recursive: true, force: true })
}

const scenarios = [...new Set(rows.map((r) => r.scenario))]
const lines = [
  "| scenario | target | req/s | req/CPU-s | p50 ms | p99 ms | errors |",
  "|---|---|---:|---:|---:|---:|---:|",
  ...scenarios.flatMap((scenario) =>
    rows
      .filter((r) => r.scenario === scenario)
      .map(
        ({ target, result, perCpuSecond }) =>
          `| ${scenario} | ${target} | ${Math.round(result.requests.average)} | ` +
          `${perCpuSecond === undefined ? "-" : Math.round(perCpuSecond)} | ${result.latency.p50} | ` +
          `${result.latency.p99} | ${result.errors + result.timeouts + result.non2xx} |`,
      ),
  ),
]
console.log(`\n${lines.join("\n")}`)

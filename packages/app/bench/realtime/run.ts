/**
 * `npm run bench:realtime`: Chat4All's WebSocket gateway beside a bare `ws` broadcast server (the limit)
 * and a Socket.IO rooms server, driven by one load generator in its own process.
 *
 * - deliveries/s: 1 room x 1,000 subscribers, 4 senders in the room keeping 32 messages in flight;
 * - latency: 100 msg/s (from the 4 senders) to 1,000 subscribers for 10 s, send -> receive p50/p99;
 * - memory: RSS per idle connection at 10,000 connections.
 *
 * Each system and scenario gets a fresh server process. Env: BENCH_SYSTEMS (chat4all,bare-ws,
 * bare-ws-batched,socketio; bare-ws-batched writes each socket's frames once per event-loop turn, the
 * batching the gateway does; platform-ws is the @effect/platform Socket variant used to choose the
 * gateway's transport),
 * BENCH_SCENARIOS (throughput,latency,memory), BENCH_SUBSCRIBERS (1000), BENCH_CONNECTIONS (10000),
 * BENCH_DURATION (10 s), BENCH_STORAGE for Chat4All (memory | default: what `chat4all serve` picks).
 * `--write` puts the results into docs/benchmarks.md. Everything listens on loopback only.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Config } from "./loadgen.js"

const here = import.meta.dirname
const tsxLoader = import.meta.resolve("tsx")
const secret = "chat4all-bench-secret-0123456789abcdef"
const systems = (process.env.BENCH_SYSTEMS ?? "chat4all,bare-ws,socketio").split(",") as Array<
  Config["system"]
>
const scenarios = (process.env.BENCH_SCENARIOS ?? "throughput,latency,memory").split(",") as Array<
  Config["scenario"]
>
const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 1000)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10_000)
const durationS = Number(process.env.BENCH_DURATION ?? 10)
const storage = process.env.BENCH_STORAGE ?? "memory"

interface Running {
  readonly url: string
  readonly pid: number
  readonly stop: () => Promise<void>
}

const serverScript: Record<Config["system"], string> = {
  "bare-ws": "servers/bare-ws.ts",
  "bare-ws-batched": "servers/bare-ws-batched.ts",
  "platform-ws": "servers/platform-ws.ts",
  socketio: "servers/socketio.ts",
  chat4all: "servers/chat4all.ts",
}

/** A server child that prints `READY <url>`; stopped with SIGTERM by its pid, then SIGKILL. */
const startServer = (system: Config["system"]): Promise<Running> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      ["--expose-gc", "--import", tsxLoader, Path.join(here, serverScript[system]), storage],
      {
        env: {
          ...process.env,
          CHAT4ALL_JWT_SECRET: secret,
          CHAT4ALL_RATE_LIMITS: "off",
          DATA_DIR: Fs.mkdtempSync(Path.join(Os.tmpdir(), "chat4all-bench-")),
          LOG_LEVEL: "Warning",
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    )
    let output = ""
    const timer = setTimeout(() => reject(new Error(`${system} did not start in 60 s`)), 60_000)
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const ready = /READY (\S+)/.exec(output)
      if (ready?.[1] !== undefined && child.pid !== undefined) {
        clearTimeout(timer)
        const pid = child.pid
        resolve({
          url: ready[1],
          pid,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done()
              const kill = setTimeout(() => process.kill(pid, "SIGKILL"), 5_000)
              child.once("exit", () => {
                clearTimeout(kill)
                done()
              })
              process.kill(pid, "SIGTERM")
            }),
        })
      }
    })
    child.once("exit", (code) => reject(new Error(`${system} exited with ${code} before it was ready`)))
  })

const runLoadgen = (config: Config): Promise<Record<string, number>> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", tsxLoader, Path.join(here, "loadgen.ts"), JSON.stringify(config)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    )
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.once("exit", (code) => {
      const line = /RESULT (\{.*\})/.exec(output)?.[1]
      if (code === 0 && line !== undefined) resolve(JSON.parse(line) as Record<string, number>)
      else
        reject(
          new Error(
            `loadgen (${config.system} ${config.scenario}) exited with ${code}: ${output.slice(-500)}`,
          ),
        )
    })
  })

const results = new Map<string, Record<string, number>>()
const loadBefore = Os.loadavg()
  .map((l) => l.toFixed(1))
  .join(" ")

for (const scenario of scenarios)
  for (const system of systems) {
    const server = await startServer(system)
    try {
      const result = await runLoadgen({
        system,
        url: server.url,
        scenario,
        subscribers: scenario === "memory" ? connections : subscribers,
        durationS,
        rate: 100,
        window: Number(process.env.BENCH_WINDOW ?? 32),
        publishers: Number(process.env.BENCH_PUBLISHERS ?? 4),
        padTo: Number(process.env.BENCH_PAD_TO ?? 620),
        serverPid: server.pid,
        secret,
      })
      results.set(`${system}/${scenario}`, result)
      console.error(`${system} ${scenario}: ${JSON.stringify(result)}`)
    } catch (error) {
      console.error(`${system} ${scenario}: FAILED ${error instanceof Error ? error.message : String(error)}`)
    } finally {
      await server.stop()
    }
  }

const names: Record<Config["system"], string> = {
  chat4all: "Chat4All gateway",
  "bare-ws": "bare `ws` broadcast (the limit)",
  "bare-ws-batched": "bare `ws`, batched per event-loop turn",
  "platform-ws": "@effect/platform Socket broadcast",
  socketio: "Socket.IO rooms",
}
const cell = (system: string, scenario: string, key: string) => {
  const value = results.get(`${system}/${scenario}`)?.[key]
  return value === undefined ? "-" : value.toLocaleString("en-US")
}
const table = [
  "| system | deliveries/s (1 room x 1,000) | deliveries per server CPU-s | p50 ms (100 msg/s x 1,000) | p99 ms | RSS per idle connection (10k) |",
  "|---|---:|---:|---:|---:|---:|",
  ...systems.map(
    (s) =>
      `| ${names[s]} | ${cell(s, "throughput", "deliveriesPerS")} | ${cell(s, "throughput", "deliveriesPerServerCpuS")} | ${cell(s, "latency", "p50Ms")} | ${cell(s, "latency", "p99Ms")} | ${
        results.get(`${s}/memory`) === undefined
          ? "-"
          : `${(results.get(`${s}/memory`)!.bytesPerConnection! / 1024).toFixed(1)} KB`
      } |`,
  ),
].join("\n")

const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? "-" : (a / b).toFixed(2)
const c = (scenario: string, key: string) => results.get(`chat4all/${scenario}`)?.[key]
const w = (scenario: string, key: string) => results.get(`bare-ws/${scenario}`)?.[key]
const b = (scenario: string, key: string) => results.get(`bare-ws-batched/${scenario}`)?.[key]
const goals = [
  `- deliveries/s vs bare ws: ${ratio(c("throughput", "deliveriesPerS"), w("throughput", "deliveriesPerS"))}x (goal >= 0.8x); per server CPU-s: ${ratio(c("throughput", "deliveriesPerServerCpuS"), w("throughput", "deliveriesPerServerCpuS"))}x`,
  `- p99 vs bare ws: ${ratio(c("latency", "p99Ms"), w("latency", "p99Ms"))}x (goal <= 1.5x)`,
  `- against the batched bare ws: deliveries/s ${ratio(c("throughput", "deliveriesPerS"), b("throughput", "deliveriesPerS"))}x, per server CPU-s ${ratio(c("throughput", "deliveriesPerServerCpuS"), b("throughput", "deliveriesPerServerCpuS"))}x, p99 ${ratio(c("latency", "p99Ms"), b("latency", "p99Ms"))}x`,
  `- per idle connection: ${
    c("memory", "bytesPerConnection") === undefined
      ? "-"
      : `${(c("memory", "bytesPerConnection")! / 1024).toFixed(1)} KB`
  } (goal <= 12 KB)`,
].join("\n")

const detail = [...results].map(([k, v]) => `- ${k}: ${JSON.stringify(v)}`).join("\n")
const report = [
  `Run ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${Os.cpus().length} cores (${Os.cpus()[0]?.model ?? "unknown CPU"}), Node ${process.version}, Chat4All storage: ${storage}; load average ${loadBefore} before the run, ${Os.loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")} after (the machine is shared).`,
  "",
  table,
  "",
  goals,
  "",
  "<details><summary>raw results</summary>",
  "",
  detail,
  "",
  "</details>",
].join("\n")
console.log(report)

if (process.argv.includes("--write")) {
  const file = Path.join(here, "../../../../docs/benchmarks.md")
  const begin = "<!-- bench:realtime:begin -->"
  const end = "<!-- bench:realtime:end -->"
  const current = Fs.existsSync(file) ? Fs.readFileSync(file, "utf8") : "# Benchmarks\n"
  const section = `${begin}\n${report}\n${end}`
  const next = current.includes(begin)
    ? current.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), section)
    : `${current.trimEnd()}\n\n${section}\n`
  Fs.writeFileSync(file, next)
  console.error(`wrote ${file}`)
}

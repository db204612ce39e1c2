import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { jetstreamManager } from "@nats-io/jetstream"
import { connect as natsConnect } from "@nats-io/transport-node"
import { Effect } from "effect"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import * as Jwt from "../../src/auth/Jwt.js"

/**
 * Two app processes (`chat4all serve`) over one real PostgreSQL (a database of this run's own) and one
 * NATS (a stream, subject prefix and presence bucket of this run's own). Under CI=true both services are
 * mandatory; without DATABASE_URL and NATS_URL and outside CI the test is skipped with a notice.
 */
const ci = process.env.CI === "true"
const databaseUrl = process.env.DATABASE_URL || (ci ? "postgres://postgres@127.0.0.1:5432/test" : undefined)
const natsUrl = process.env.NATS_URL || (ci ? "nats://127.0.0.1:4222" : undefined)
const skip = databaseUrl === undefined || natsUrl === undefined
if (skip)
  console.warn(
    "multi-node realtime test skipped: set DATABASE_URL (a PostgreSQL that may create databases) and NATS_URL " +
      "(nats-server -js), or run under CI=true",
  )

const here = import.meta.dirname
const cli = Path.join(here, "../../src/cli.ts")
const root = Path.join(here, "../../../..")
const secret = "chat4all-multinode-secret-0123456789abcdef"
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
const tenant = `mn-${run}`

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const admin = async (url: string, sql: string) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

interface Node {
  readonly name: string
  readonly url: string
  readonly child: ChildProcess
  output: string
}

/** Every process this file started, so none outlives it whatever fails. */
const children = new Set<ChildProcess>()

/** Runs `chat4all <args>` as its own process with `env`. */
const chat4all = (args: ReadonlyArray<string>, env: Record<string, string>) => {
  const child = spawn(process.execPath, ["--import", "tsx", cli, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  })
  children.add(child)
  child.once("exit", () => children.delete(child))
  return child
}

const startNode = async (name: string, env: Record<string, string>): Promise<Node> => {
  const port = await freePort()
  const child = chat4all(["serve"], { ...env, PORT: String(port), HOST: "127.0.0.1" })
  const node: Node = { name, url: `http://127.0.0.1:${port}`, child, output: "" }
  child.stdout?.on("data", (chunk: Buffer) => {
    node.output = (node.output + chunk.toString()).slice(-20_000)
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    node.output = (node.output + chunk.toString()).slice(-20_000)
  })
  const deadline = Date.now() + 150_000
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`node ${name} exited with ${child.exitCode}:\n${node.output}`)
    try {
      const response = await fetch(`${node.url}/health/ready`)
      if (response.status === 200) return node
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`node ${name} not ready in 150 s:\n${node.output}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

interface Received {
  readonly id: string
  readonly seq: number
  readonly clientMessageId: string
}

/**
 * A client as an app would write one: it keeps its last cursor, dedups events by id, reconnects with
 * its cursor when the connection drops (to the node it is told), and sends again every send that had
 * no reply yet, with the same clientMessageId.
 */
class ChatClient {
  readonly messages: Array<Received> = []
  /** Every message.created frame as it came, repeats included. */
  readonly raw: Array<Received> = []
  private readonly seen = new Set<string>()
  private readonly pending = new Map<string, string>()
  private ws: WebSocket | undefined
  private cursor: string | undefined
  reconnects = 0
  closes: Array<number> = []
  target: string
  private ready: Promise<void> = Promise.resolve()

  constructor(
    readonly user: string,
    private readonly token: string,
    target: string,
  ) {
    this.target = target
  }

  connect(): Promise<void> {
    const url = new URL(`${this.target.replace(/^http/, "ws")}/v1/ws`)
    url.searchParams.set("access_token", this.token)
    if (this.cursor !== undefined) url.searchParams.set("cursor", this.cursor)
    const ws = new WebSocket(url)
    this.ws = ws
    this.ready = new Promise((resolve, reject) => {
      ws.on("error", () => {})
      ws.on("message", (data) => {
        const frame = JSON.parse(data.toString())
        if (frame.type === "welcome") {
          this.cursor ??= frame.cursor
          // Everything without a reply goes again: same clientMessageId, so at most one message each.
          for (const pending of this.pending.values()) ws.send(pending)
          resolve()
        } else if (frame.type === "event") {
          this.cursor = frame.cursor
          if (frame.event.type !== "message.created") return
          const m = frame.event.data.message
          const received = { id: m.id, seq: m.seq, clientMessageId: m.clientMessageId }
          this.raw.push(received)
          if (this.seen.has(frame.event.id)) return
          this.seen.add(frame.event.id)
          this.messages.push(received)
        } else if (frame.type === "resumed") this.cursor = frame.cursor
        else if (frame.type === "reply" && frame.ok) this.pending.delete(frame.id)
        else if (frame.type === "reply") reject(new Error(`send refused: ${JSON.stringify(frame)}`))
      })
      ws.on("close", (code) => {
        this.closes.push(code)
        if (this.ws !== ws || code === 1000) return
        this.reconnects++
        setTimeout(() => void this.connect(), 100)
      })
    })
    return this.ready
  }

  async send(conversationId: string, clientMessageId: string, text: string) {
    const frame = JSON.stringify({
      id: clientMessageId,
      type: "send",
      conversationId,
      clientMessageId,
      content: { type: "text", text },
    })
    this.pending.set(clientMessageId, frame)
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(frame)
  }

  /** Whether the server answered this send (it is committed). */
  replied(clientMessageId: string) {
    return !this.pending.has(clientMessageId)
  }

  has(clientMessageIds: ReadonlyArray<string>) {
    return clientMessageIds.every((c) => this.messages.some((m) => m.clientMessageId === c))
  }

  async waitFor(clientMessageIds: ReadonlyArray<string>, timeoutMs = 45_000) {
    const deadline = Date.now() + timeoutMs
    while (!this.has(clientMessageIds)) {
      if (Date.now() > deadline)
        throw new Error(
          `${this.user} did not get ${clientMessageIds.filter((c) => !this.messages.some((m) => m.clientMessageId === c))} ` +
            `in ${timeoutMs} ms (closes ${this.closes}, pending ${[...this.pending.keys()]})`,
        )
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  close() {
    const ws = this.ws
    this.ws = undefined
    ws?.close(1000)
  }
}

describe.skipIf(skip)("two app nodes over one PostgreSQL and one NATS", () => {
  const database = `c4a_multinode_${run}`
  const names = {
    CHAT4ALL_NATS_STREAM: `CHAT4ALL_MN_${run}`.toUpperCase(),
    CHAT4ALL_NATS_SUBJECT_PREFIX: `chat4all_mn_${run}`,
    CHAT4ALL_NATS_PRESENCE_BUCKET: `chat4all_mn_presence_${run}`,
  }
  let env: Record<string, string>
  const nodes: Array<Node> = []
  let dataDir: string

  beforeAll(async () => {
    await admin(databaseUrl!, `CREATE DATABASE ${database}`)
    const ours = new URL(databaseUrl!)
    ours.pathname = `/${database}`
    dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "chat4all-multinode-"))
    env = {
      DATABASE_URL: ours.href,
      NATS_URL: natsUrl!,
      ...names,
      CHAT4ALL_JWT_SECRET: secret,
      CHAT4ALL_RATE_LIMITS: "off",
      DATA_DIR: dataDir,
      LOG_LEVEL: "Warning",
    }
    const migrate = chat4all(["migrate"], env)
    migrate.stdout?.resume()
    let migrateOutput = ""
    migrate.stderr?.on("data", (c: Buffer) => {
      migrateOutput += c.toString()
    })
    const code = await new Promise<number | null>((resolve) => migrate.once("exit", resolve))
    if (code !== 0) throw new Error(`chat4all migrate exited with ${code}: ${migrateOutput}`)
    nodes.push(...(await Promise.all([startNode("A", env), startNode("B", env)])))
  }, 240_000)

  afterAll(async () => {
    // SIGTERM, then SIGKILL after 10 s: the test is about what survives a node, not about its exit.
    for (const child of [...children])
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve))
        child.kill("SIGTERM")
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
        await exited
        clearTimeout(timer)
      }
    await admin(databaseUrl!, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    const nc = await natsConnect({ servers: natsUrl! })
    const jsm = await jetstreamManager(nc)
    for (const stream of [names.CHAT4ALL_NATS_STREAM, `KV_${names.CHAT4ALL_NATS_PRESENCE_BUCKET}`])
      await jsm.streams.delete(stream).catch(() => false)
    await nc.close()
    Fs.rmSync(dataDir, { recursive: true, force: true })
  }, 60_000)

  it("lets users on two nodes converse in order, and loses nothing when a node is killed mid-stream", async () => {
    const [a, b] = nodes as [Node, Node]
    const token = (user: string) => Effect.runPromise(Jwt.sign(secret, { tid: tenant, sub: user }, 3600))
    const annToken = await token("ann")
    const created = await fetch(`${a.url}/v1/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${annToken}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "direct", members: ["bob"] }),
    })
    expect(created.status).toBe(201)
    const conversationId = ((await created.json()) as { id: string }).id

    const ann = new ChatClient("ann", annToken, a.url)
    const bob = new ChatClient("bob", await token("bob"), b.url)
    await Promise.all([ann.connect(), bob.connect()])

    const rounds = 12
    const killAt = 5
    const burst = 3
    const all: Array<string> = []
    for (let round = 0; round < rounds; round++) {
      const fromAnn = Array.from({ length: burst }, (_, j) => `ann-${round}-${j}`)
      for (const c of fromAnn) await ann.send(conversationId, c, `ann says ${c}`)
      all.push(...fromAnn)
      if (round === killAt) {
        // Mid-stream: the first of ann's burst is committed on node A, the rest on its way, when A dies
        // without a chance to clean up.
        while (!ann.replied(fromAnn[0]!)) await new Promise((resolve) => setTimeout(resolve, 1))
        a.child.kill("SIGKILL")
        await new Promise((resolve) => a.child.once("exit", resolve))
        ann.target = b.url
      }
      await bob.waitFor(fromAnn)
      const fromBob = Array.from({ length: burst }, (_, j) => `bob-${round}-${j}`)
      for (const c of fromBob) await bob.send(conversationId, c, `bob says ${c}`)
      all.push(...fromBob)
      await ann.waitFor(fromBob)
    }
    await Promise.all([ann.waitFor(all), bob.waitFor(all)])

    // The conversation as stored, by seq: every send exactly once.
    const bobToken = await token("bob")
    const stored: Array<{ id: string; seq: number; clientMessageId: string }> = []
    for (let after = 0; ; ) {
      const page = await fetch(
        `${b.url}/v1/conversations/${conversationId}/messages?after=${after}&limit=200`,
        {
          headers: { authorization: `Bearer ${bobToken}` },
        },
      )
      const body = (await page.json()) as {
        items: Array<{ id: string; seq: number; clientMessageId: string }>
      }
      stored.push(...body.items)
      if (body.items.length < 200) break
      after = body.items.at(-1)!.seq
    }
    expect(stored.map((m) => m.clientMessageId).sort()).toEqual([...all].sort())
    expect(stored.map((m) => m.seq)).toEqual(stored.map((_, i) => i + 1))

    for (const client of [ann, bob]) {
      // After dedup by id: every message once, in seq order.
      expect(client.messages.map((m) => m.id)).toEqual(stored.map((m) => m.id))
      // Repeats, if any, are of messages that exist: nothing invented, nothing lost.
      expect(new Set(client.raw.map((m) => m.id))).toEqual(new Set(stored.map((m) => m.id)))
    }
    expect(ann.reconnects).toBeGreaterThanOrEqual(1)
    expect(bob.reconnects).toBe(0)
    ann.close()
    bob.close()
  }, 180_000)
})

if (skip)
  describe("two app nodes over one PostgreSQL and one NATS", () =>
    it.skip("needs DATABASE_URL and NATS_URL", () => {}))

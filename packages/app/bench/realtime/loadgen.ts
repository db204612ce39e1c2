/**
 * The load generator of `bench:realtime`, in its own process (the servers run in others). One run, one
 * system, one scenario, given as JSON in argv[2]; prints `RESULT <json>` at the end.
 *
 * Scenarios:
 * - throughput: 1 room with N subscribers; `publishers` senders (also in the room), round-robin, keep
 *   `window` messages in flight (counted by the copies coming back to the first) for `durationS`; result:
 *   deliveries/s to the subscribers.
 * - latency: the same room, the publishers together at a fixed `rate` msg/s; every subscriber timestamps each
 *   message it gets against the send time (same process, same monotonic clock): p50/p99/max.
 * - memory: N idle connections; the server's RSS (from /proc, after a full GC) before and after, per
 *   connection.
 *
 * Messages carry a marker `@@<n>@@` that receivers find without parsing JSON, so the generator spends its
 * CPU on sockets, not on decoding. Connections spread over 127.0.0.x source addresses.
 */
import { randomUUID } from "node:crypto"
import * as Fs from "node:fs"
import { SignJWT } from "jose"
import { io as ioClient } from "socket.io-client"
import { LeanSocket } from "./leanws.js"

export interface Config {
  readonly system: "bare-ws" | "bare-ws-batched" | "platform-ws" | "socketio" | "chat4all"
  /** ws://.../ws for the ws servers, http://host:port for Socket.IO and Chat4All. */
  readonly url: string
  readonly scenario: "throughput" | "latency" | "memory"
  readonly subscribers: number
  readonly durationS: number
  readonly rate: number
  readonly window: number
  /** Connections the messages are sent from, round-robin (a room has many senders). */
  readonly publishers: number
  /**
   * The bare ws and Socket.IO publishers pad their message to this many bytes, so that every system
   * puts about as many bytes on the wire per delivery as a Chat4All event frame carries.
   */
  readonly padTo: number
  readonly serverPid: number
  readonly secret?: string | undefined
}

const config = JSON.parse(process.argv[2] ?? "{}") as Config
const sourceAddress = (i: number) => `127.0.0.${2 + (i % 200)}`
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A received frame: the chunk the socket gave and where the frame's payload is in it. */
export interface Raw {
  readonly chunk: Buffer
  readonly start: number
  readonly end: number
}

const AT = 64 // "@"
/** The n of the first `@@<n>@@` in a frame, or -1; reads digits straight from the bytes. */
const markerOf = ({ chunk, start, end }: Raw): number => {
  const at = chunk.indexOf("@@", start)
  if (at < 0 || at >= end) return -1
  let n = 0
  for (let i = at + 2; i < end; i++) {
    const code = chunk[i]!
    if (code === AT) return n
    n = n * 10 + (code - 48)
  }
  return -1
}

const hasMarker = ({ chunk, start, end }: Raw): boolean => {
  const at = chunk.indexOf("@@", start)
  return at >= 0 && at < end
}

const startsWith = ({ chunk, start, end }: Raw, prefix: string): boolean =>
  end - start >= prefix.length && chunk.toString("latin1", start, start + prefix.length) === prefix

/** The bench text of message n, padded to `padTo` bytes. */
const padded = (n: number) => {
  const text = `@@${n}@@ hello from the bench`
  return text.length >= config.padTo ? text : text + " ".repeat(config.padTo - text.length)
}

const rssOf = (pid: number): number => {
  const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
  return Number(kb) * 1024
}

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 1/100 s). */
const cpuOf = (pid: number): number => {
  const stat = Fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const ownCpu = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6
}

interface Connection {
  close(): void
}

interface Publisher extends Connection {
  publish(n: number): void
}

interface System {
  /** Prepares the room for `count` subscribers (Chat4All: users, tokens, a conversation). */
  setup(count: number, idle: boolean): Promise<void>
  subscriber(i: number, onFrame: (raw: Raw) => void): Promise<Connection>
  /** Publisher `i`; all of them are in the room. */
  publisher(i: number, onFrame: (raw: Raw) => void): Promise<Publisher>
}

/**
 * A lean WebSocket connection that resolves once `ready` says so (for the ws servers: at once), then
 * hands frames to `onFrame`; `greet` may answer frames before that (Socket.IO's handshake).
 */
const lean = (
  url: URL,
  path: string,
  localAddress: string | undefined,
  onFrame: (raw: Raw) => void,
  ready: ((raw: Raw, socket: LeanSocket) => boolean) | undefined,
) =>
  new Promise<LeanSocket>((resolve, reject) => {
    let live = ready === undefined
    const socket: LeanSocket = new LeanSocket({
      host: url.hostname,
      port: Number(url.port),
      path,
      localAddress,
      onText: (chunk, start, end) => {
        const raw = { chunk, start, end }
        if (live) return onFrame(raw)
        if (ready?.(raw, socket)) {
          live = true
          resolve(socket)
        }
      },
      onClose: (code) => {
        if (!live) reject(new Error(`closed with ${code} before ready`))
      },
    })
    socket.connect().then(() => {
      if (ready === undefined) resolve(socket)
    }, reject)
  })

const wsSystem = (url: string): System => {
  const target = new URL(url)
  const path = `${target.pathname}?room=bench`
  return {
    setup: async () => {},
    subscriber: async (i, onFrame) => lean(target, path, sourceAddress(i), onFrame, undefined),
    publisher: async (_i, onFrame) => {
      const socket = await lean(target, path, undefined, onFrame, undefined)
      return {
        publish: (n) => socket.sendText(`{"text":"${padded(n)}"}`),
        close: () => socket.close(),
      }
    },
  }
}

/**
 * Socket.IO subscribers speak its protocol over a lean WebSocket: `40` connects the namespace, an event
 * with an ack joins the room, `2` (ping) is answered with `3`; room messages are `42["msg",...]`. The
 * publisher is the real socket.io-client.
 */
const socketIoSystem = (url: string): System => {
  const target = new URL(url)
  const path = "/socket.io/?EIO=4&transport=websocket"
  return {
    setup: async () => {},
    subscriber: async (i, onFrame) => {
      const isPing = (raw: Raw) => raw.end - raw.start === 1 && raw.chunk[raw.start] === 50 // "2"
      let self: LeanSocket | undefined
      self = await lean(
        target,
        path,
        sourceAddress(i),
        (raw) => (isPing(raw) ? self?.sendText("3") : onFrame(raw)),
        (raw, socket) => {
          if (startsWith(raw, "0{")) socket.sendText("40")
          else if (startsWith(raw, "40")) socket.sendText('420["join","bench"]')
          else if (startsWith(raw, "430")) return true
          else if (isPing(raw)) socket.sendText("3")
          return false
        },
      )
      return self
    },
    publisher: (_i, onFrame) =>
      new Promise<Publisher>((resolve, reject) => {
        const socket = ioClient(url, { transports: ["websocket"], forceNew: true, reconnection: false })
        socket.on("msg", (body: string) => {
          const chunk = Buffer.from(body)
          onFrame({ chunk, start: 0, end: chunk.length })
        })
        socket.once("connect_error", reject)
        socket.once("connect", () =>
          socket.emit("join", "bench", () =>
            resolve({
              publish: (n) => socket.emit("pub", padded(n)),
              close: () => socket.disconnect(),
            }),
          ),
        )
      }),
  }
}

/** Chat4All: a group conversation of the publisher and N users; messages go through the real send path. */
const chat4allSystem = (url: string, secret: string): System => {
  const tenant = `bench-${Date.now().toString(36)}`
  const key = new TextEncoder().encode(secret)
  const token = (user: string) =>
    new SignJWT({ tid: tenant, role: "user" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(user)
      .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
      .sign(key)
  let conversationId = ""
  const target = new URL(url)
  const isWelcome = (raw: Raw) => startsWith(raw, '{"type":"welcome"')
  return {
    setup: async (count, idle) => {
      if (idle) return
      const members = Array.from({ length: count }, (_, i) => `sub-${i}`)
      const owner = await token("publisher-0")
      const response = await fetch(`${url}/v1/conversations`, {
        method: "POST",
        headers: { authorization: `Bearer ${owner}`, "content-type": "application/json" },
        body: JSON.stringify({ type: "group", members, title: "bench room" }),
      })
      if (response.status !== 201)
        throw new Error(`creating the room answered ${response.status}: ${await response.text()}`)
      conversationId = ((await response.json()) as { id: string }).id
      for (let i = 1; i < config.publishers; i++) {
        const added = await fetch(`${url}/v1/conversations/${conversationId}/members`, {
          method: "POST",
          headers: { authorization: `Bearer ${owner}`, "content-type": "application/json" },
          body: JSON.stringify({ userId: `publisher-${i}` }),
        })
        if (added.status >= 300) throw new Error(`adding publisher ${i} answered ${added.status}`)
      }
    },
    subscriber: async (i, onFrame) =>
      lean(target, `/v1/ws?access_token=${await token(`sub-${i}`)}`, sourceAddress(i), onFrame, isWelcome),
    publisher: async (i, onFrame) => {
      const socket = await lean(
        target,
        `/v1/ws?access_token=${await token(`publisher-${i}`)}`,
        undefined,
        (raw) => {
          // Its own message comes back as an event; the reply to the send is not counted.
          if (startsWith(raw, '{"type":"event"')) onFrame(raw)
          else if (
            raw.chunk.indexOf('"ok":false', raw.start) >= 0 &&
            raw.chunk.indexOf('"ok":false', raw.start) < raw.end
          )
            console.error(
              `send refused: ${raw.chunk.toString("utf8", raw.start, Math.min(raw.end, raw.start + 300))}`,
            )
        },
        isWelcome,
      )
      return {
        publish: (n) =>
          socket.sendText(
            JSON.stringify({
              type: "send",
              id: n,
              conversationId,
              clientMessageId: randomUUID(),
              content: { type: "text", text: `@@${n}@@ hello from the bench` },
            }),
          ),
        close: () => socket.close(),
      }
    },
  }
}

const systemOf = (c: Config): System =>
  c.system === "socketio"
    ? socketIoSystem(c.url)
    : c.system === "chat4all"
      ? chat4allSystem(c.url, c.secret ?? "")
      : wsSystem(c.url)

/** Opens `count` subscribers, `parallel` handshakes at a time. */
const connectAll = async (system: System, count: number, onFrame: (i: number, raw: Raw) => void) => {
  const connections: Array<Connection> = new Array(count)
  let next = 0
  const parallel = 64
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++
        connections[i] = await system.subscriber(i, (raw) => onFrame(i, raw))
      }
    }),
  )
  return connections
}

/** The publishers; only the first reports what comes back (every publisher is in the room). */
const connectPublishers = (system: System, onFrame: (raw: Raw) => void) =>
  Promise.all(
    Array.from({ length: Math.max(1, config.publishers) }, (_, i) =>
      system.publisher(i, i === 0 ? onFrame : () => {}),
    ),
  )

const roundRobin = (publishers: ReadonlyArray<Publisher>): Publisher => ({
  publish: (n) => publishers[n % publishers.length]!.publish(n),
  close: () => {
    for (const p of publishers) p.close()
  },
})

/** Chat4All's own counters of frames and socket writes, from /metrics (other systems: none). */
const writeCounters = async (): Promise<{ frames: number; writes: number } | undefined> => {
  if (config.system !== "chat4all") return undefined
  await sleep(300)
  const text = await (await fetch(`${config.url}/metrics`)).text()
  const read = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, "m").exec(text)?.[1] ?? Number.NaN)
  return { frames: read("chat4all_ws_frames_out_total"), writes: read("chat4all_ws_event_writes_total") }
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

const throughput = async (system: System) => {
  await system.setup(config.subscribers, false)
  let delivered = 0
  let lastDelivery = 0
  let bytes = 0
  const subscribers = await connectAll(system, config.subscribers, (_i, raw) => {
    if (hasMarker(raw)) {
      delivered++
      bytes += raw.end - raw.start
      lastDelivery = performance.now()
    }
  })
  let echoed = 0
  let wake: (() => void) | undefined
  const publishers = await connectPublishers(system, (raw) => {
    if (hasMarker(raw)) {
      echoed++
      wake?.()
    }
  })
  const publisher = roundRobin(publishers)
  // Warm up, then measure.
  for (let n = 0; n < 50; n++) publisher.publish(n)
  while (echoed < 50) await new Promise<void>((resolve) => (wake = resolve))
  await sleep(500)
  delivered = 0
  bytes = 0
  echoed = 0
  let sent = 0
  const countersBefore = await writeCounters()
  const serverCpu = cpuOf(config.serverPid)
  const generatorCpu = ownCpu()
  const started = performance.now()
  const end = started + config.durationS * 1000
  while (performance.now() < end) {
    while (sent - echoed < config.window) publisher.publish(100 + sent++)
    await new Promise<void>((resolve) => {
      wake = resolve
      setTimeout(resolve, 50)
    })
  }
  // Let what was sent arrive (bounded).
  const drainUntil = performance.now() + 10_000
  while (delivered < sent * config.subscribers && performance.now() < drainUntil) await sleep(20)
  const seconds = (lastDelivery - started) / 1000
  const serverCpuS = cpuOf(config.serverPid) - serverCpu
  const generatorCpuS = ownCpu() - generatorCpu
  const countersAfter = await writeCounters()
  publisher.close()
  for (const s of subscribers) s.close()
  return {
    messages: sent,
    delivered,
    expected: sent * config.subscribers,
    seconds: Math.round(seconds * 100) / 100,
    deliveriesPerS: Math.round(delivered / seconds),
    messagesPerS: Math.round(sent / seconds),
    bytesPerDelivery: Math.round(bytes / Math.max(1, delivered)),
    // Deliveries per second of the server's own CPU: what the server costs, whatever else runs.
    deliveriesPerServerCpuS: Math.round(delivered / serverCpuS),
    serverCpuS: Math.round(serverCpuS * 100) / 100,
    generatorCpuS: Math.round(generatorCpuS * 100) / 100,
    ...(countersBefore === undefined || countersAfter === undefined
      ? {}
      : {
          framesPerWrite:
            Math.round(
              ((countersAfter.frames - countersBefore.frames) /
                (countersAfter.writes - countersBefore.writes)) *
                100,
            ) / 100,
        }),
  }
}

const latency = async (system: System) => {
  await system.setup(config.subscribers, false)
  const total = Math.round(config.rate * config.durationS)
  const sentAt = new Float64Array(total + 100)
  const samples = new Float64Array(total * config.subscribers)
  let count = 0
  const subscribers = await connectAll(system, config.subscribers, (_i, raw) => {
    const n = markerOf(raw)
    if (n >= 100 && count < samples.length) samples[count++] = performance.now() - sentAt[n]!
  })
  const publisher = roundRobin(await connectPublishers(system, () => {}))
  // Warm up (ids below 100 are not measured).
  for (let n = 0; n < 20; n++) {
    publisher.publish(n)
    await sleep(10)
  }
  await sleep(500)
  const countersBefore = await writeCounters()
  const interval = 1000 / config.rate
  const started = performance.now()
  for (let i = 0; i < total; i++) {
    const due = started + i * interval
    const wait = due - performance.now()
    if (wait > 1) await sleep(wait - 0.5)
    while (performance.now() < due) {
      /* spin the last half millisecond for an even rate */
    }
    sentAt[100 + i] = performance.now()
    publisher.publish(100 + i)
  }
  const drainUntil = performance.now() + 10_000
  while (count < total * config.subscribers && performance.now() < drainUntil) await sleep(20)
  const countersAfter = await writeCounters()
  const sorted = samples.slice(0, count).sort()
  publisher.close()
  for (const s of subscribers) s.close()
  return {
    messages: total,
    samples: count,
    expected: total * config.subscribers,
    p50Ms: Math.round(percentile(sorted, 50) * 100) / 100,
    p99Ms: Math.round(percentile(sorted, 99) * 100) / 100,
    maxMs: Math.round((sorted[sorted.length - 1] ?? Number.NaN) * 100) / 100,
    ...(countersBefore === undefined || countersAfter === undefined
      ? {}
      : {
          framesPerWrite:
            Math.round(
              ((countersAfter.frames - countersBefore.frames) /
                (countersAfter.writes - countersBefore.writes)) *
                100,
            ) / 100,
        }),
  }
}

/** The server's RSS after a full garbage collection (every bench server collects on SIGUSR2). */
const settledRss = async () => {
  process.kill(config.serverPid, "SIGUSR2")
  await sleep(1500)
  return rssOf(config.serverPid)
}

const memory = async (system: System) => {
  await system.setup(config.subscribers, true)
  await sleep(1000)
  const before = await settledRss()
  const connections = await connectAll(system, config.subscribers, () => {})
  await sleep(3000)
  const after = await settledRss()
  for (const c of connections) c.close()
  return {
    connections: connections.length,
    rssBeforeMb: Math.round(before / 1048576),
    rssAfterMb: Math.round(after / 1048576),
    bytesPerConnection: Math.round((after - before) / connections.length),
  }
}

const main = async () => {
  const system = systemOf(config)
  const result =
    config.scenario === "throughput"
      ? await throughput(system)
      : config.scenario === "latency"
        ? await latency(system)
        : await memory(system)
  console.log(`RESULT ${JSON.stringify(result)}`)
  setTimeout(() => process.exit(0), 200)
}

const watchdog = setTimeout(() => {
  console.error("loadgen: gave up after 5 minutes")
  process.exit(3)
}, 300_000)
watchdog.unref()

main().catch((error) => {
  console.error(`loadgen: ${error instanceof Error ? error.stack : String(error)}`)
  process.exit(2)
})

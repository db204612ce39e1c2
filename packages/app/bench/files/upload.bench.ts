/**
 * A 2 GiB upload through tus-js-client to the Chat4All server on loopback, beside a bare node:http PUT
 * of the same bytes to disk, in the same run. Reports MB/s (10^6 bytes per second) and the resident
 * memory of each server process (a separate process, sampled from /proc every 50 ms).
 *
 *   npm run bench:files
 *   BENCH_FILES_MIB=2048     how much to upload (results go to docs/benchmarks.md only at 2048)
 *   DATABASE_URL             passed on to the server: file metadata in that PostgreSQL instead of the
 *                            embedded one (which runs on the server's main thread)
 *
 * - chat4all: `chat4all serve` with its defaults (embedded PostgreSQL and blobs under a fresh DATA_DIR,
 *   rate limits off), one tus upload (POST, then one PATCH streaming the whole file) with the file's
 *   sha256 in Upload-Metadata; it ends when the server answers the last PATCH: bytes synced to disk and
 *   the whole file's sha256 checked (which reads it back).
 * - baseline: a node:http server that pipes a PUT body into a file and syncs it.
 * The bytes are made on the fly (no fixture): nothing but the uploads touches the disk. The run needs
 * 5 GB free and skips with a message otherwise; it removes everything it wrote.
 */
import { type ChildProcess, execSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { SignJWT } from "jose"
import { Upload } from "tus-js-client"
import { makeSource } from "./Generated.js"

const MIB = 1024 * 1024
const sizeMiB = Number(process.env.BENCH_FILES_MIB ?? 2048)
const size = sizeMiB * MIB
const here = NodePath.dirname(fileURLToPath(import.meta.url))
const root = NodePath.resolve(here, "../../../..")
const secret = "chat4all-bench-secret-0123456789abcdef0123"
const targets = new Set(
  (process.env.BENCH_FILES_TARGETS ?? "baseline,chat4all").split(",").map((t) => t.trim()),
)

const freeBytes = (dir: string) => {
  const s = statfsSync(dir)
  return s.bavail * s.bsize
}
const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`
const mb = (kib: number) => `${Math.round(kib / 1024)} MiB`

/** Resident memory of a process from /proc: the current value, and its high-water mark. */
const memoryOf = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kib = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN)
  return { rss: kib("VmRSS"), hwm: kib("VmHWM") }
}

const sampler = (pid: number) => {
  let peak = 0
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, memoryOf(pid).rss)
    } catch {}
  }, 50)
  return {
    stop: () => {
      clearInterval(timer)
      return peak
    },
  }
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

const children = new Set<ChildProcess>()
const scratch = new Set<string>()
const cleanUp = () => {
  for (const child of children) child.kill("SIGKILL")
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true })
}
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    cleanUp()
    process.exit(signal === "SIGINT" ? 130 : 143)
  })

/** A TypeScript entry point in a node process of its own (tsx as a loader, so the pid is the server's). */
const launch = (script: string, args: ReadonlyArray<string>, env: Record<string, string>) => {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  })
  children.add(child)
  // Both pipes are drained (a full pipe would stall the server); the tail is kept for error messages.
  let stderr = ""
  const keep = (d: Buffer) => {
    stderr = (stderr + String(d)).slice(-8192)
  }
  child.stderr!.on("data", keep)
  child.stdout!.on("data", keep)
  child.on("exit", () => children.delete(child))
  return { child, stderr: () => stderr }
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
    setTimeout(() => child.kill("SIGKILL"), 10_000).unref()
  })

/**
 * Polls `url` until it answers 200. With `banner`, first waits for that line on the process's output: a
 * request sent while the server binds but does not serve yet can hang for good.
 */
const waitFor = async (url: string, what: string, stderr: () => string, banner?: string) => {
  for (let i = 0; i < 1200 && banner !== undefined && !stderr().includes(banner); i++)
    await new Promise((r) => setTimeout(r, 100))
  for (let i = 0; i < 600; i++) {
    try {
      const response = await fetch(url)
      if (response.ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 100))
    if (process.env.BENCH_DEBUG && i % 50 === 49)
      console.log(`  waiting for ${what}:\n${stderr().slice(-600)}`)
  }
  throw new Error(`${what} did not start:\n${stderr()}`)
}

interface Result {
  readonly name: string
  readonly seconds: number
  readonly lastByteSeconds: number
  readonly idleKiB: number
  readonly peakKiB: number
  readonly hwmKiB: number
}

const runChat4all = async (source: ReturnType<typeof makeSource>, sha256: string): Promise<Result> => {
  const dataDir = mkdtempSync(NodePath.join(Os.tmpdir(), "chat4all-bench-files-"))
  scratch.add(dataDir)
  const port = await freePort()
  const server = launch("packages/app/src/cli.ts", ["serve"], {
    PORT: String(port),
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    CHAT4ALL_JWT_SECRET: secret,
    CHAT4ALL_RATE_LIMITS: "off",
    LOG_LEVEL: "Warning",
  })
  const url = `http://127.0.0.1:${port}`
  await waitFor(`${url}/health/live`, "the chat4all server", server.stderr, "is listening on")
  const token = await new SignJWT({ tid: "bench", role: "user" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("bench")
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(secret))
  await new Promise((r) => setTimeout(r, 1000))
  const idle = memoryOf(server.child.pid!).rss
  const memory = sampler(server.child.pid!)

  let lastByte = 0
  let sent = 0
  const start = performance.now()
  const progress = process.env.BENCH_DEBUG
    ? setInterval(() => {
        const t = (performance.now() - start) / 1000
        console.log(
          `  ${t.toFixed(0)} s: ${(sent / MIB).toFixed(0)} MiB sent, ${(sent / 1e6 / t).toFixed(0)} MB/s`,
        )
      }, 5000)
    : undefined
  const location = await new Promise<string>((resolve, reject) => {
    const upload = new Upload(Buffer.alloc(0), {
      endpoint: `${url}/v1/files`,
      headers: { authorization: `Bearer ${token}` },
      metadata: { filename: "bench.bin", filetype: "application/octet-stream", sha256 },
      uploadSize: size,
      retryDelays: null,
      storeFingerprintForResuming: false,
      fileReader: {
        openFile: async () => ({
          size,
          slice: async (from: number, to: number) => {
            const end = Math.min(to, size)
            const body = source.range(from, end)
            body.on("data", (chunk: Buffer) => {
              sent += chunk.length
            })
            body.on("end", () => {
              lastByte = performance.now()
            })
            return { value: Object.assign(body, { size: end - from }), done: end >= size }
          },
          close: () => {},
        }),
      },
      onSuccess: () => resolve(upload.url!),
      onError: (error) => reject(new Error(`the tus upload failed: ${error}\n${server.stderr()}`)),
      ...(process.env.BENCH_DEBUG
        ? {
            onBeforeRequest: (req) => console.log("  >", req.getMethod(), req.getURL()),
            onAfterResponse: (_req, res) => console.log("  <", res.getStatus()),
          }
        : {}),
    } as ConstructorParameters<typeof Upload>[1])
    upload.start()
  })
  const end = performance.now()
  clearInterval(progress)
  const peak = memory.stop()
  const hwm = memoryOf(server.child.pid!).hwm

  const path = new URL(location).pathname
  const meta = (await (
    await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as {
    readonly status: string
    readonly sha256: string | null
    readonly size: number
  }
  if (meta.status !== "ready" || meta.sha256 !== sha256 || meta.size !== size)
    throw new Error(`the upload did not end ready with the right sha256: ${JSON.stringify(meta)}`)
  await fetch(`${url}${path}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${token}`, "tus-resumable": "1.0.0" },
  })
  await stop(server.child)
  rmSync(dataDir, { recursive: true, force: true })
  scratch.delete(dataDir)
  return {
    name: "chat4all tus (tus-js-client)",
    seconds: (end - start) / 1000,
    lastByteSeconds: (lastByte - start) / 1000,
    idleKiB: idle,
    peakKiB: peak,
    hwmKiB: hwm,
  }
}

const runBaseline = async (source: ReturnType<typeof makeSource>): Promise<Result> => {
  const dir = mkdtempSync(NodePath.join(Os.tmpdir(), "chat4all-bench-baseline-"))
  scratch.add(dir)
  const server = launch(NodePath.join(here, "BaselineServer.ts"), [], { DIR: dir })
  const port = await new Promise<number>((resolve, reject) => {
    server.child.stdout!.once("data", (d) => resolve(Number(String(d).trim())))
    server.child.once("exit", () => reject(new Error(`the baseline server stopped:\n${server.stderr()}`)))
  })
  await new Promise((r) => setTimeout(r, 1000))
  const idle = memoryOf(server.child.pid!).rss
  const memory = sampler(server.child.pid!)
  let lastByte = 0
  const start = performance.now()
  const status = await new Promise<number>((resolve, reject) => {
    const request = Http.request({ host: "127.0.0.1", port, method: "PUT", path: "/upload" }, (response) => {
      response.resume()
      response.on("end", () => resolve(response.statusCode ?? 0))
    })
    request.on("error", reject)
    const body = source.range(0, size)
    body.on("end", () => {
      lastByte = performance.now()
    })
    body.pipe(request)
  })
  const end = performance.now()
  const peak = memory.stop()
  const hwm = memoryOf(server.child.pid!).hwm
  if (status !== 204) throw new Error(`the baseline PUT answered ${status}`)
  await stop(server.child)
  rmSync(dir, { recursive: true, force: true })
  scratch.delete(dir)
  return {
    name: "baseline: node:http PUT to a file",
    seconds: (end - start) / 1000,
    lastByteSeconds: (lastByte - start) / 1000,
    idleKiB: idle,
    peakKiB: peak,
    hwmKiB: hwm,
  }
}

/** Wraps a paragraph or a `- ` item at `width` columns (tables and markers pass through). */
const wrap = (line: string, width: number) => {
  if (line.startsWith("|") || line.startsWith("<!--") || line.length <= width) return line
  const indent = line.startsWith("- ") ? "  " : ""
  const out: Array<string> = []
  let current = ""
  for (const word of line.split(" ")) {
    if (current.length > 0 && current.length + 1 + word.length > width) {
      out.push(current)
      current = indent + word
    } else current = current.length === 0 ? word : `${current} ${word}`
  }
  out.push(current)
  return out.join("\n")
}

const markerStart = "<!-- bench:files:start -->"
const markerEnd = "<!-- bench:files:end -->"

/** A Markdown table with its columns padded (as biome formats it): the first left-aligned, the rest right. */
const markdownTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((h, c) => Math.max(h.length, 3, ...rows.map((r) => (r[c] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(" | ")} |`
  const rule = `| ${widths.map((w, c) => (c === 0 ? "-".repeat(w) : `${"-".repeat(w - 1)}:`)).join(" | ")} |`
  return [line(header), rule, ...rows.map(line)].join("\n")
}

const report = (results: ReadonlyArray<Result>) =>
  markdownTable(
    [
      "target",
      "MB/s",
      "seconds",
      "last byte sent at",
      "server RSS idle",
      "server RSS peak during upload",
      "peak - idle",
      "VmHWM",
    ],
    results.map((r) => [
      r.name,
      (size / 1e6 / r.seconds).toFixed(0),
      r.seconds.toFixed(1),
      `${r.lastByteSeconds.toFixed(1)} s`,
      mb(r.idleKiB),
      mb(r.peakKiB),
      mb(r.peakKiB - r.idleKiB),
      mb(r.hwmKiB),
    ]),
  )

const main = async () => {
  const tmp = Os.tmpdir()
  const free = freeBytes(tmp)
  if (free < 5e9) {
    console.log(
      `bench:files skipped: ${gb(free)} free in ${tmp}; a ${sizeMiB} MiB upload and its baseline need 5 GB (free some space, or set BENCH_FILES_MIB lower)`,
    )
    return
  }
  console.log(`bench:files: ${sizeMiB} MiB per upload, ${gb(free)} free in ${tmp}, ${Os.cpus().length} cores`)
  const source = makeSource()
  const hashStart = performance.now()
  const sha256 = await source.sha256(size)
  console.log(
    `  sha256 of the data ${sha256} (${((performance.now() - hashStart) / 1000).toFixed(1)} s, not timed)`,
  )

  const loadBefore = Os.loadavg()[0]!
  const results: Array<Result> = []
  if (targets.has("baseline")) {
    results.push(await runBaseline(source))
    console.log(`  done: ${results[results.length - 1]!.name}`)
  }
  if (targets.has("chat4all")) {
    results.push(await runChat4all(source, sha256))
    console.log(`  done: ${results[results.length - 1]!.name}`)
  }
  const table = report(results)
  const load = `load average ${loadBefore.toFixed(1)} before, ${Os.loadavg()[0]!.toFixed(1)} after (${Os.cpus().length} cores)`
  console.log(`\n${table}\n\n${load}\n`)

  if (sizeMiB !== 2048 || results.length < 2) {
    console.log("(not written to docs/benchmarks.md: only a 2048 MiB run of both targets is)")
    return
  }
  const cpu = Os.cpus()[0]?.model ?? "unknown CPU"
  let commit = "unknown"
  try {
    commit = execSync("git rev-parse --short HEAD", { cwd: root }).toString().trim()
  } catch {}
  const when = new Date().toISOString().slice(0, 16).replace("T", " ")
  const storage = process.env.DATABASE_URL
    ? "file metadata in PostgreSQL at DATABASE_URL"
    : "file metadata in the embedded PostgreSQL, which runs on the server's main thread"
  const [baseline, chat4all] = results as [Result, Result]
  const reading =
    `- Reading: chat4all moved the bytes at ${Math.round((baseline.seconds / chat4all.seconds) * 100)} % of the ` +
    `baseline's rate; ${(chat4all.seconds - chat4all.lastByteSeconds).toFixed(1)} s of its ` +
    `${chat4all.seconds.toFixed(1)} s came after the last byte was sent (the sync and the sha256 read-back). ` +
    `Its resident memory grew by ${mb(chat4all.peakKiB - chat4all.idleKiB)} during the 2 GiB upload.`
  const section = [
    markerStart,
    "## Files",
    "",
    `\`npm run bench:files\` (\`packages/app/bench/files/upload.bench.ts\`, bench at ${commit}): one 2 GiB upload ` +
      "through tus-js-client to the server on loopback, beside a bare node:http PUT of the same bytes to disk, in " +
      "the same run; each server in a process of its own, the client in the benchmark process, the bytes " +
      "generated on the fly (no fixture). MB/s is 10^6 bytes per second over the whole request, until the server " +
      "answered.",
    "",
    `${when} UTC, ${Os.cpus().length} vCPU (${cpu}), Node ${process.version}, on a machine shared with other ` +
      `runs: ${load}.`,
    "",
    table,
    "",
    `- chat4all: \`chat4all serve\` with its defaults (${storage}; blobs under DATA_DIR; rate limits off). ` +
      "tus-js-client creates the upload with the file's sha256 in Upload-Metadata and streams it in one PATCH. " +
      "The server writes the request's chunks to the file as they come (at most 32 socket reads ahead of the " +
      "disk), syncs it, then reads the whole file back to check its sha256 before it answers: the time between " +
      "the last byte sent and the answer is that sync and that check.",
    "- baseline: a bare node:http server piping the PUT body into a file and syncing it: no protocol, no auth, " +
      "no checksum.",
    "- RSS is the server process's resident memory (/proc VmRSS sampled every 50 ms) once started and idle, and " +
      "its peak during the upload; VmHWM is its high-water mark over its whole life, start-up included (for " +
      "chat4all that includes the embedded PostgreSQL). Memory stays flat when `peak - idle` stays small " +
      "whatever the file size: it does not grow with the 2 GiB.",
    reading,
    markerEnd,
  ]
    .map((line) => wrap(line, 110))
    .join("\n")
  const docs = NodePath.join(root, "docs", "benchmarks.md")
  let text = ""
  try {
    text = readFileSync(docs, "utf8")
  } catch {
    text = "# Benchmarks\n"
  }
  const from = text.indexOf(markerStart)
  const to = text.indexOf(markerEnd)
  text =
    from >= 0 && to > from
      ? `${text.slice(0, from)}${section}${text.slice(to + markerEnd.length)}`
      : `${text.trimEnd()}\n\n${section}\n`
  writeFileSync(docs, text)
  console.log(`written to ${NodePath.relative(process.cwd(), docs)}`)
}

main()
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
  .finally(cleanUp)

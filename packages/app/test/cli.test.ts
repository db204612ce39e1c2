import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { NodeContext } from "@effect/platform-node"
import { ConfigProvider, Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import * as Jwt from "../src/auth/Jwt.js"
import { parseTtl, token, UsageError } from "../src/commands/Token.js"

const root = Path.resolve(import.meta.dirname, "../../..")
const tsx = Path.join(root, "node_modules/.bin/tsx")
const cli = Path.join(root, "packages/app/src/cli.ts")

const run = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  spawnSync(tsx, [cli, ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "Warning", ...env },
    encoding: "utf8",
    timeout: 90_000,
  })

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = Net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as Net.AddressInfo
      probe.close(() => resolve(port))
    })
  })

const dirs: Array<string> = []
const tempDir = () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "chat4all-cli-test-"))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) Fs.rmSync(dir, { recursive: true, force: true })
})

describe("chat4all token", () => {
  it("mints a token with the secret it generated into DATA_DIR (mode 0600), only the token on stdout", async () => {
    const dataDir = tempDir()
    const result = run(["token", "--tenant", "acme", "--user", "alice", "--role", "service", "--ttl", "2h"], {
      DATA_DIR: dataDir,
      CHAT4ALL_JWT_SECRET: "",
    })
    expect(result.status).toBe(0)
    const token = result.stdout.trim()
    expect(token.split(".")).toHaveLength(3)
    const secretFile = Path.join(dataDir, "jwt-secret")
    expect(Fs.statSync(secretFile).mode & 0o777).toBe(0o600)
    const secret = Fs.readFileSync(secretFile, "utf8").trim()
    const claims = await Effect.runPromise(Jwt.hs256(secret).verify(token))
    expect(claims).toMatchObject({ sub: "alice", tid: "acme", role: "service" })
    expect(claims.exp - Date.now() / 1000).toBeGreaterThan(7100)
    expect(claims.exp - Date.now() / 1000).toBeLessThanOrEqual(7200)
    const again = run(["token", "--tenant", "acme", "--user", "bob"], {
      DATA_DIR: dataDir,
      CHAT4ALL_JWT_SECRET: "",
    })
    expect(Fs.readFileSync(secretFile, "utf8").trim()).toBe(secret)
    expect(await Effect.runPromise(Jwt.hs256(secret).verify(again.stdout.trim()))).toMatchObject({
      role: "user",
    })
  }, 120_000)

  it("signs with CHAT4ALL_JWT_SECRET when it is set", async () => {
    const secret = "an-operator-chosen-secret-of-32-chars!"
    const result = run(["token", "--tenant", "acme", "--user", "alice"], {
      DATA_DIR: tempDir(),
      CHAT4ALL_JWT_SECRET: secret,
    })
    expect(result.status).toBe(0)
    expect(await Effect.runPromise(Jwt.hs256(secret).verify(result.stdout.trim()))).toMatchObject({
      sub: "alice",
    })
  }, 120_000)

  it("refuses wrong token options, naming the option", async () => {
    const refusal = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
      Effect.runPromise(
        token(args).pipe(
          Effect.flip,
          Effect.provide(NodeContext.layer),
          Effect.withConfigProvider(
            ConfigProvider.fromMap(new Map(Object.entries({ DATA_DIR: tempDir(), ...env }))),
          ),
        ),
      )
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
      [["--user", "alice"], "--tenant is required"],
      [["--tenant", "a b", "--user", "alice"], '--tenant "a b" is not valid'],
      [["--tenant", "acme", "--user", "alice", "--role", "root"], '--role "root" is not valid'],
      [["--tenant", "acme", "--user", "alice", "--ttl", "soon"], "--ttl soon"],
      [["--tenant", "acme", "--user", "alice", "--bogus"], "--bogus"],
    ]
    for (const [args, message] of cases) {
      const error = await refusal(args)
      expect(error).toBeInstanceOf(UsageError)
      expect((error as Error).message).toContain(message)
    }
    const jwks = await refusal(["--tenant", "acme", "--user", "alice"], {
      CHAT4ALL_JWKS_URL: "https://idp.example/jwks.json",
    })
    expect((jwks as Error).message).toContain("identity provider")
  })

  it("prints the usage and exits 2 for a wrong command line", () => {
    for (const args of [["frobnicate"], ["token", "--user", "alice"]]) {
      const result = run(args, { DATA_DIR: tempDir() })
      expect(result.status, args.join(" ")).toBe(2)
      expect(result.stderr).toContain("Usage: chat4all")
      expect(result.stdout).toBe("")
    }
  }, 120_000)

  it("reads TTLs", () => {
    expect(parseTtl("3600")).toBe(3600)
    expect(parseTtl("90s")).toBe(90)
    expect(parseTtl("30m")).toBe(1800)
    expect(parseTtl("24h")).toBe(86400)
    expect(parseTtl("7d")).toBe(604800)
    expect(parseTtl("0")).toBeUndefined()
    expect(parseTtl("1w")).toBeUndefined()
  })
})

describe("chat4all serve (embedded PostgreSQL on disk)", () => {
  let child: ChildProcess | undefined
  afterAll(() => {
    if (child?.exitCode === null) child.kill("SIGKILL")
  })

  it("starts (503 starting until ready, never a hang), serves the walk-through, stops on SIGTERM despite open requests", async () => {
    const dataDir = tempDir()
    const port = await freePort()
    // This test is about the embedded default: CI's DATABASE_URL must not reach the child.
    const { DATABASE_URL: _server, ...inherited } = process.env
    const env = {
      ...inherited,
      DATA_DIR: dataDir,
      PORT: String(port),
      CHAT4ALL_JWT_SECRET: "",
      LOG_LEVEL: "Info",
    }
    const server = spawn(process.execPath, ["--import", "tsx", cli, "serve"], { cwd: root, env })
    child = server
    let stderr = ""
    let stdout = ""
    // While it starts, every answer is 503 `starting` (or the port is not bound yet); nothing hangs. (The
    // event loop may stall for seconds while PGlite initialises, hence the long timeout.)
    const early: Array<number | string> = []
    let polling = true
    const poller = (async () => {
      while (polling) {
        const outcome = await fetch(`http://127.0.0.1:${port}/health/live`, {
          signal: AbortSignal.timeout(45_000),
        }).then(
          async (r) => (r.status === 503 ? `503 ${((await r.json()) as { code: string }).code}` : r.status),
          (error: Error) => (error.name === "TimeoutError" ? "hung" : "refused"),
        )
        early.push(outcome)
        if (outcome === 200) return
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })()
    server.stdout?.on("data", (chunk) => {
      stdout += chunk
    })
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no banner within 90 s:\n${stderr}\n${stdout}`)),
        90_000,
      )
      server.stderr?.on("data", (chunk) => {
        stderr += chunk
        const match = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(stderr)
        if (match?.[1] !== undefined) {
          clearTimeout(timer)
          resolve(match[1])
        }
      })
      server.on("exit", (code) => reject(new Error(`serve exited with ${code}:\n${stderr}\n${stdout}`)))
    })
    await poller
    polling = false
    expect(
      early.filter((outcome) => outcome !== "refused"),
      JSON.stringify(early),
    ).not.toContain("hung")
    for (const outcome of early) expect([200, "refused", "503 starting"]).toContain(outcome)
    expect(stderr).toContain("embedded PostgreSQL (PGlite)")
    expect(stderr).toContain("token --tenant acme --user alice")
    const token = run(["token", "--tenant", "acme", "--user", "alice"], {
      DATA_DIR: dataDir,
      CHAT4ALL_JWT_SECRET: "",
    }).stdout.trim()
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
    const created = await fetch(`${url}/v1/conversations`, {
      method: "POST",
      headers,
      body: JSON.stringify({ type: "group", members: ["bob"], title: "Launch" }),
    })
    expect(created.status).toBe(201)
    const conversation = (await created.json()) as { id: string }
    const sent = await fetch(`${url}/v1/conversations/${conversation.id}/messages`, {
      method: "POST",
      headers,
      body: JSON.stringify({ clientMessageId: "hello-1", content: { type: "text", text: "Hello, Bob!" } }),
    })
    expect(sent.status).toBe(201)
    const list = (await (await fetch(`${url}/v1/conversations`, { headers })).json()) as {
      items: Array<{ lastMessage: { content: { text: string } } }>
    }
    expect(list.items[0]?.lastMessage.content.text).toBe("Hello, Bob!")
    expect(Fs.existsSync(Path.join(dataDir, "postgres.lock"))).toBe(true)

    // A long-poll in flight and a client that never finishes its request must not hold the shutdown.
    const cursor = ((await (await fetch(`${url}/v1/sync`, { headers })).json()) as { nextCursor: string })
      .nextCursor
    const longPoll = fetch(`${url}/v1/sync?since=${encodeURIComponent(cursor)}&timeoutMs=30000`, {
      headers,
    }).then(
      (r) => r.status,
      () => "cut",
    )
    const stuck = Net.connect(port, "127.0.0.1")
    stuck.on("error", () => {})
    stuck.write("POST /v1/conversations HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    await new Promise((resolve) => setTimeout(resolve, 300))
    const exit = new Promise<number | null>((resolve) => server.on("exit", (code) => resolve(code)))
    const stopping = Date.now()
    server.kill("SIGTERM")
    expect(await exit).toBe(0)
    expect(Date.now() - stopping).toBeLessThan(15_000)
    // On a loaded machine the long-poll may reach the server only once it is draining: 503 is its answer then.
    expect(["cut", 200, 503]).toContain(await longPoll)
    stuck.destroy()
    expect(Fs.existsSync(Path.join(dataDir, "postgres.lock"))).toBe(false)
    for (const line of stdout.trim().split("\n")) expect(() => JSON.parse(line)).not.toThrow()
    expect(stdout).toContain("shutting down")
  }, 180_000)
})

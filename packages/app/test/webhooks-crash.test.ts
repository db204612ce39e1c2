/**
 * A webhook worker that dies between claiming a delivery and sending it loses nothing: the lease lapses
 * and the next worker sends the delivery, under the same webhook-id. The dying worker is a process of its
 * own (`webhooks-claimer.ts`) killed with SIGKILL; the one that takes over is the app's WebhookWorker.
 * Runs on the embedded PostgreSQL (always) and on a real one when DATABASE_URL is set.
 */
import { spawn } from "node:child_process"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { MemoryFanout } from "@chat4all/adapters/memory"
import { EmbeddedPostgres, PgWebhookStore, PostgresStore } from "@chat4all/adapters/postgres"
import { SystemIdGenerator } from "@chat4all/adapters/system"
import { HttpSender } from "@chat4all/adapters/webhooks-http"
import { Caller, type Ids, WebhookStore, Webhooks } from "@chat4all/domain"
import { Storage as StorageKit } from "@chat4all/domain/testing"
import { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Layer, ManagedRuntime, Redacted } from "effect"
import pg from "pg"
import { Webhook } from "standardwebhooks"
import { describe, expect, it } from "vitest"
import * as WebhookWorker from "../src/workers/WebhookWorker.js"

const databaseUrl = process.env.DATABASE_URL || undefined
const claimer = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "webhooks-claimer.ts")
const leaseMs = 2_000

/** Where the dying process connects: the same database as the test. */
class Target extends Context.Tag("test/webhooks-crash/Target")<
  Target,
  { readonly url: string; readonly schema: string }
>() {}

const admin = async (url: string, text: string) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

const embedded = Layer.unwrapEffect(
  Effect.map(EmbeddedPostgres.EmbeddedPostgres, (server) =>
    Layer.merge(
      PostgresStore.clientLayer({ url: server.url, maxConnections: 1 }),
      Layer.succeed(Target, { url: Redacted.value(server.url), schema: "" }),
    ),
  ),
).pipe(Layer.provide(EmbeddedPostgres.layer({ dataDir: "memory://" })))

const real = (url: string) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const schema = `c4a_whcrash_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
      yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () => admin(url, `CREATE SCHEMA ${schema}`),
          catch: (cause) => new SqlError({ cause, message: String(cause) }),
        }),
        () => Effect.promise(() => admin(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`)),
      )
      return Layer.merge(
        PostgresStore.clientLayer({ url: Redacted.make(url), schema, maxConnections: 2 }),
        Layer.succeed(Target, { url, schema }),
      )
    }),
  )

/** What the surviving node runs on: the storage, the webhook store, a fanout, ids and the real sender. */
const node = <E>(client: Layer.Layer<PgClientServices | Target, E>) =>
  Layer.mergeAll(
    PostgresStore.layerMigrated,
    PgWebhookStore.layer,
    MemoryFanout.layer,
    SystemIdGenerator.layer,
    HttpSender.layer({ allowPrivate: true }),
  ).pipe(Layer.provideMerge(client))
type PgClientServices = PostgresStore.PgClientServices

/** Runs the claimer until it has claimed; answers what it claimed, when its lease began at the earliest, and a kill. */
const startClaimer = (target: { readonly url: string; readonly schema: string }) =>
  new Promise<{ before: number; claimed: Array<string>; kill: () => Promise<NodeJS.Signals | null> }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", claimer], {
        env: {
          ...process.env,
          C4A_URL: target.url,
          C4A_SCHEMA: target.schema,
          C4A_LEASE_MS: String(leaseMs),
        },
        stdio: ["ignore", "pipe", "pipe"],
      })
      const exited = new Promise<NodeJS.Signals | null>((done) =>
        child.on("exit", (_code, signal) => done(signal)),
      )
      let out = ""
      let err = ""
      child.stderr.on("data", (chunk) => {
        err += chunk
      })
      child.stdout.on("data", (chunk) => {
        out += chunk
        const line = out.split("\n")[0]
        if (out.includes("\n") && line !== undefined) {
          const claimed = JSON.parse(line) as { before: number; claimed: Array<string> }
          resolve({
            ...claimed,
            kill: () => {
              child.kill("SIGKILL")
              return exited
            },
          })
        }
      })
      child.on("exit", (code) => reject(new Error(`the claimer exited (${code}) before claiming: ${err}`)))
      child.on("error", reject)
    },
  )

const backends: ReadonlyArray<readonly [string, () => Layer.Layer<PgClientServices | Target, unknown>]> = [
  ["embedded postgres", () => embedded],
  ...(databaseUrl === undefined ? [] : [["postgres", () => real(databaseUrl)] as const]),
]

for (const [name, client] of backends)
  describe(`webhook delivery across a crash [${name}]`, () => {
    it("is sent after the lease of a worker killed between claim and send lapses, with the same webhook-id", async () => {
      const received: Array<{ headers: Record<string, string>; body: string; at: number }> = []
      const receiver = Http.createServer((req, res) => {
        let body = ""
        req.on("data", (chunk) => {
          body += chunk
        })
        req.on("end", () => {
          received.push({ headers: req.headers as Record<string, string>, body, at: Date.now() })
          res.writeHead(200).end()
        })
      })
      await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
      const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`
      const runtime = ManagedRuntime.make(node(client()))
      try {
        const tenantId = `t-crash-${Date.now().toString(36)}` as Ids.TenantId
        const caller = new Caller.Caller({ tenantId, userId: "svc" as Ids.UserId, role: "service" })
        const made = await runtime.runPromise(
          Webhooks.createWebhook(caller, { url: hookUrl, events: ["message.created"] }),
        )
        await runtime.runPromise(
          Effect.flatMap(StorageKit.createConversation(tenantId, "group", ["ann"]), (c) =>
            StorageKit.sendMany(c, "ann", 1),
          ),
        )
        expect(await runtime.runPromise(Webhooks.route({ tenants: 100, events: 1000 }))).toMatchObject({
          deliveries: 1,
        })
        const store = await runtime.runPromise(WebhookStore.WebhookStore)
        const [pending] = (
          await runtime.runPromise(store.deliveries(tenantId, made.endpoint.id, { limit: 10 }))
        ).items
        expect(pending?.status).toBe("pending")

        // A worker process claims it, and dies before sending.
        const dying = await startClaimer(await runtime.runPromise(Target))
        expect(dying.claimed).toContain(pending!.id)
        expect(await dying.kill()).toBe("SIGKILL")
        expect(received).toHaveLength(0)
        // Its lease still holds: nobody else may take the delivery yet.
        const early = await runtime.runPromise(store.claim({ limit: 100, leaseMs: 60_000 }))
        expect(early.map((c) => c.delivery.id)).not.toContain(pending!.id)

        // The restarted worker sends it once the lease has lapsed.
        await runtime.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              yield* Layer.build(WebhookWorker.layer({ ...WebhookWorker.defaults, pollMs: 100 }))
              // Until the receiver has it and the worker has settled it.
              const deadline = Date.now() + 20_000
              for (;;) {
                const now = yield* store.delivery(tenantId, made.endpoint.id, pending!.id)
                if ((now._tag === "Some" && now.value.status !== "pending") || Date.now() > deadline) break
                yield* Effect.sleep("25 millis")
              }
            }),
          ),
        )
        expect(received).toHaveLength(1)
        expect(received[0]!.at).toBeGreaterThanOrEqual(dying.before + leaseMs)
        expect(received[0]!.headers["webhook-id"]).toBe(pending!.id)
        expect(new Webhook(made.secret).verify(received[0]!.body, received[0]!.headers)).toMatchObject({
          id: pending!.id,
          type: "message.created",
        })
        const log = await runtime.runPromise(store.delivery(tenantId, made.endpoint.id, pending!.id))
        expect(log._tag === "Some" && log.value.status).toBe("succeeded")
        // One attempt: the killed process never made one.
        expect(log._tag === "Some" && log.value.attempts.map((a) => a.statusCode)).toEqual([200])
      } finally {
        await runtime.dispose()
        receiver.closeAllConnections()
        await new Promise((resolve) => receiver.close(resolve))
      }
    }, 90_000)
  })

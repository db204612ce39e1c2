/**
 * A connector worker that dies between claiming a send and making it loses nothing: once its lease
 * lapses, the next worker sends the message, once. The dying worker is a process of its own
 * (`connectors-claimer.ts`: it routes the committed message and claims the send, then hangs) killed with
 * SIGKILL; the one that takes over is the app's ConnectorWorker. The message is committed while no worker
 * runs at all, so this also shows that routing comes from what was committed, not from memory. Runs on the
 * embedded PostgreSQL (always) and on a real one when DATABASE_URL is set.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { MemoryFanout } from "@chat4all/adapters/memory"
import { EmbeddedPostgres, PgConnectorStores, PostgresStore } from "@chat4all/adapters/postgres"
import { SystemIdGenerator } from "@chat4all/adapters/system"
import { Registry } from "@chat4all/connectors"
import { type StandIn, WhatsAppStandIn } from "@chat4all/connectors/stand-ins"
import {
  Caller,
  ChannelIdentity,
  ConnectorConfigs,
  Content,
  ConversationActor,
  Conversations,
  type Delivery,
  IdentityStore,
  type Ids,
  MessageStore,
  Messages,
} from "@chat4all/domain"
import { SqlError } from "@effect/sql/SqlError"
import { Context, Effect, Exit, Layer, ManagedRuntime, Redacted, Scope } from "effect"
import pg from "pg"
import { describe, expect, it } from "vitest"
import * as ConnectorSecrets from "../src/connectors/ConnectorSecrets.js"
import * as TenantConnectors from "../src/connectors/TenantConnectors.js"
import * as ConnectorWorker from "../src/workers/ConnectorWorker.js"

const databaseUrl = process.env.DATABASE_URL || undefined
const claimer = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "connectors-claimer.ts")
const leaseMs = 2_000
const key = randomBytes(32)

/** Where the dying process connects: the same database as the test. */
class Target extends Context.Tag("test/connectors-crash/Target")<
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
      const schema = `c4a_cncrash_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
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

type PgClientServices = PostgresStore.PgClientServices

/** The surviving node: the stores, the conversation actor, the tenants' connectors, a fanout, ids. */
const node = <E>(client: Layer.Layer<PgClientServices | Target, E>) => {
  const stores = Layer.mergeAll(
    PostgresStore.layerMigrated,
    PgConnectorStores.layer,
    MemoryFanout.layer,
    SystemIdGenerator.layer,
  )
  const connectors = TenantConnectors.layer.pipe(
    Layer.provideMerge(Layer.succeed(ConnectorSecrets.ConnectorSecrets, ConnectorSecrets.make(key))),
    Layer.provideMerge(Registry.layer()),
  )
  return Layer.mergeAll(ConversationActor.layer(), connectors).pipe(
    Layer.provideMerge(stores),
    Layer.provideMerge(client),
  )
}

/** Runs the claimer until it has claimed; answers what it claimed and a kill. */
const startClaimer = (target: { readonly url: string; readonly schema: string }) =>
  new Promise<{ planned: number; claimed: Array<string>; kill: () => Promise<NodeJS.Signals | null> }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", claimer], {
        env: {
          ...process.env,
          C4A_URL: target.url,
          C4A_SCHEMA: target.schema,
          C4A_LEASE_MS: String(leaseMs),
          C4A_KEY: key.toString("hex"),
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
          const claimed = JSON.parse(line) as { planned: number; claimed: Array<string> }
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
  describe(`connector delivery across a crash [${name}]`, () => {
    it("is sent once, after the lease of a worker killed between claim and send lapses", async () => {
      const scope = Effect.runSync(Scope.make())
      const whatsapp: StandIn.StandIn = await Effect.runPromise(Scope.extend(WhatsAppStandIn.make, scope))
      const runtime = ManagedRuntime.make(node(client()))
      try {
        const tenantId = `t-cncrash-${Date.now().toString(36)}` as Ids.TenantId
        const bob = whatsapp.newAddress()
        const text = `survives a crash ${Date.now().toString(36)}`
        const message = await runtime.runPromise(
          Effect.gen(function* () {
            const root = new Caller.Caller({ tenantId, userId: "root" as Ids.UserId, role: "admin" })
            const registry = yield* Registry.ConnectorRegistry
            const parsed = yield* registry.parse("whatsapp", whatsapp.settings())
            const secrets = yield* ConnectorSecrets.ConnectorSecrets
            yield* ConnectorConfigs.saveConnectorConfig(root, {
              connector: "whatsapp" as Delivery.ChannelName,
              enabled: true,
              settings: yield* secrets.seal(
                parsed.forStorage,
                ConnectorSecrets.contextOf(tenantId, "whatsapp"),
              ),
            })
            const identities = yield* IdentityStore.IdentityStore
            yield* identities.put(
              new ChannelIdentity.ChannelIdentity({
                tenantId,
                userId: "bob" as Ids.UserId,
                channel: "whatsapp" as Delivery.ChannelName,
                address: bob,
                updatedAt: Date.now(),
              }),
            )
            const alice = new Caller.Caller({ tenantId, userId: "alice" as Ids.UserId, role: "user" })
            const { conversation } = yield* Conversations.createConversation(alice, {
              type: "direct",
              members: ["bob" as Ids.UserId],
            })
            const sent = yield* Messages.sendMessage(alice, conversation.id, {
              clientMessageId: "crash-1" as Ids.ClientMessageId,
              content: new Content.TextContent({ type: "text", text }),
            })
            return sent.message
          }),
        )

        // A worker process routes the committed message, claims its send, and dies before sending.
        const dying = await startClaimer(await runtime.runPromise(Target))
        expect(dying.planned).toBe(1)
        expect(dying.claimed).toEqual([message.id])
        expect(await dying.kill()).toBe("SIGKILL")

        const bobOnWhatsApp = Effect.gen(function* () {
          const messages = yield* MessageStore.MessageStore
          const records = yield* messages.deliveries(tenantId, message.id)
          return records.find((r) => r.userId === "bob" && r.channel === "whatsapp")?.status
        })
        expect(await runtime.runPromise(bobOnWhatsApp)).toBe("pending")

        // The restarted worker: nothing while the dead one's lease holds, then the send, once.
        await runtime.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              yield* Layer.build(
                ConnectorWorker.layer({ ...ConnectorWorker.defaults, pollMs: 100, retryScale: 0.001 }),
              )
              yield* Effect.sleep(`${leaseMs / 2} millis`)
              expect((yield* whatsapp.sent).filter((s) => s.to === bob)).toEqual([])
              const deadline = Date.now() + 20_000
              while ((yield* bobOnWhatsApp) !== "sent" && Date.now() < deadline)
                yield* Effect.sleep("25 millis")
            }),
          ),
        )
        const sent = (await Effect.runPromise(whatsapp.sent)).filter((s) => s.to === bob)
        expect(sent.map((s) => s.text)).toEqual([text])
        expect(await runtime.runPromise(bobOnWhatsApp)).toBe("sent")
      } finally {
        await runtime.dispose()
        await Effect.runPromise(Scope.close(scope, Exit.void))
      }
    }, 90_000)
  })

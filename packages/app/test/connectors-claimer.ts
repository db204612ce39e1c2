/**
 * The process that dies in the connector crash test: it routes the committed messages and claims the
 * sends exactly as a worker does (the real use case, stores and lease), says what it claimed on stdout,
 * and then hangs before sending anything, until the test kills it with SIGKILL.
 *
 * Environment: C4A_URL (PostgreSQL), C4A_SCHEMA (optional), C4A_LEASE_MS, C4A_KEY (the secrets key, hex).
 */
import { PgConnectorStores, PostgresStore } from "@chat4all/adapters/postgres"
import { SystemIdGenerator } from "@chat4all/adapters/system"
import { Registry } from "@chat4all/connectors"
import { ConnectorDeliveries, ConnectorOutbox, ConversationActor } from "@chat4all/domain"
import { Clock, Effect, Layer, Redacted } from "effect"
import * as ConnectorSecrets from "../src/connectors/ConnectorSecrets.js"
import * as TenantConnectors from "../src/connectors/TenantConnectors.js"

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`connectors-claimer: ${name} is not set`)
  return value
}

const program = Effect.gen(function* () {
  const routed = yield* ConnectorDeliveries.routeDue({ tenants: 100, events: 1000, leaseMs: 60_000 })
  const outbox = yield* ConnectorOutbox.ConnectorOutbox
  // The lease runs until at least `before + C4A_LEASE_MS` (the store reads the clock after this).
  const before = yield* Clock.currentTimeMillis
  const claimed = yield* outbox.claim({ limit: 100, leaseMs: Number(env("C4A_LEASE_MS")) })
  process.stdout.write(
    `${JSON.stringify({ planned: routed.planned, before, claimed: claimed.map((c) => c.delivery.messageId) })}\n`,
  )
  // Between claim and send: this is where the process dies.
  return yield* Effect.never
})

const schema = process.env.C4A_SCHEMA
const client = PostgresStore.clientLayer({
  url: Redacted.make(env("C4A_URL")),
  maxConnections: 1,
  ...(schema === undefined || schema === "" ? {} : { schema }),
})
const key = ConnectorSecrets.decodeKey(env("C4A_KEY"))
if (key === undefined) throw new Error("connectors-claimer: C4A_KEY is not a 32-byte key")
const stores = Layer.mergeAll(PostgresStore.layer, PgConnectorStores.layer, SystemIdGenerator.layer)
const connectors = TenantConnectors.layer.pipe(
  Layer.provide(Layer.succeed(ConnectorSecrets.ConnectorSecrets, ConnectorSecrets.make(key))),
  Layer.provide(Registry.layer()),
)
const node = Layer.mergeAll(ConversationActor.layer(), connectors).pipe(Layer.provideMerge(stores))

Effect.runPromise(program.pipe(Effect.provide(node), Effect.provide(client))).catch((error) => {
  process.stderr.write(`connectors-claimer failed: ${String(error)}\n`)
  process.exit(1)
})

import * as Path from "node:path"
import * as Memory from "@chat4all/adapters/memory"
import {
  Migrations,
  PgConnectorStores,
  PgFileStore,
  PgWebhookStore,
  PostgresStore,
} from "@chat4all/adapters/postgres"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Option, Redacted } from "effect"
import type { Ports } from "./App.js"
import * as AppConfig from "./config.js"

/** A choice of storage: the layer with every port, and what the health check and banner call it. */
export interface Storage<E = never, R = never> {
  readonly layer: Layer.Layer<Ports, E, R>
  readonly databaseName: string
  /** Where the data lives, for the start-up banner (never a password). */
  readonly description: string
  /** Brings the schema up to date and says what it applied (`chat4all migrate`). */
  readonly migrate: Effect.Effect<void, E, R>
}

/** Presence and fanout within this process: what one node needs (NATS takes over across nodes). */
const inProcess = Layer.merge(Memory.MemoryPresence.layer, Memory.MemoryFanout.layer)

/** Every port in memory: nothing survives a restart. For tests and trying things out. */
export const memory: Storage = {
  layer: Layer.mergeAll(
    Memory.layer,
    Memory.MemoryWebhookStore.layer,
    Memory.MemoryConnectorStores.layer,
    Memory.MemoryFileStore.layer,
  ),
  databaseName: "memory",
  description: "in memory (nothing is kept across restarts)",
  migrate: Effect.logInfo("storage is in memory: there is nothing to migrate"),
}

/** PostgreSQL through the given client (migrated when the layer starts), presence and fanout in process. */
export const postgres = <E>(
  client: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, E>,
  description: string,
): Storage<E | PostgresStore.StartupError> => ({
  layer: Layer.mergeAll(
    PostgresStore.layerMigrated,
    PgWebhookStore.layer,
    PgConnectorStores.layer,
    PgFileStore.layer,
    inProcess,
  ).pipe(Layer.provide(client)),
  databaseName: "database",
  description,
  migrate: Effect.gen(function* () {
    const applied = yield* Migrations.run
    yield* Effect.logInfo(
      applied.length === 0
        ? "the database schema is up to date"
        : `applied migrations: ${applied.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}`).join(", ")}`,
    )
  }).pipe(Effect.provide(client)),
})

const target = (url: string) => {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
  } catch {
    return "the DATABASE_URL server"
  }
}

/**
 * The storage the environment asks for: PostgreSQL at DATABASE_URL, otherwise the embedded PostgreSQL
 * (PGlite) under DATA_DIR.
 */
export const fromConfig = Effect.gen(function* () {
  const url = yield* AppConfig.databaseUrl
  const poolMax = yield* AppConfig.databasePoolMax
  if (Option.isSome(url))
    return postgres(
      PostgresStore.clientLayer({ url: url.value, maxConnections: poolMax }),
      `PostgreSQL at ${target(Redacted.value(url.value))}`,
    )
  const dataDir = yield* AppConfig.dataDir
  return postgres(
    PostgresStore.embeddedClientLayer(dataDir),
    `embedded PostgreSQL (PGlite) in ${Path.resolve(PostgresStore.embeddedDirectory(dataDir))}`,
  )
})

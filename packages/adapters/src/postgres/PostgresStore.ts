import * as Path from "node:path"
import type { ConversationStore, EventLog, IdentityStore, MessageStore, Outbox } from "@chat4all/domain"
import type { MigrationError } from "@effect/sql/Migrator"
import type * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Config, type ConfigError, Duration, Effect, Layer, Option, Redacted, Runtime } from "effect"
import pg from "pg"
import * as EmbeddedPostgres from "./EmbeddedPostgres.js"
import { PgPool } from "./internal/transaction.js"
import * as Migrations from "./Migrations.js"
import * as PgConversationStore from "./PgConversationStore.js"
import * as PgEventLog from "./PgEventLog.js"
import * as PgIdentityStore from "./PgIdentityStore.js"
import * as PgMessageStore from "./PgMessageStore.js"
import * as PgOutbox from "./PgOutbox.js"

/** The storage ports this adapter provides, all over one PgClient (one commit is seen by all of them). */
export type Storage =
  | ConversationStore.ConversationStore
  | MessageStore.MessageStore
  | EventLog.EventLog
  | Outbox.Outbox
  | IdentityStore.IdentityStore

/** What a PgClient layer provides: the PostgreSQL client under both of its tags. */
export type PgClientServices = PgClient.PgClient | SqlClient.SqlClient

export { PgPool }

/** Every storage port over the PgClient in context. The schema must be migrated (see `layerMigrated`). */
export const layer: Layer.Layer<Storage, never, PgClient.PgClient> = Layer.mergeAll(
  PgConversationStore.layer,
  PgMessageStore.layer,
  PgEventLog.layer,
  PgOutbox.layer,
  PgIdentityStore.layer,
)

/** Every storage port, after running the pending migrations. */
export const layerMigrated: Layer.Layer<
  Storage,
  MigrationError | SqlError,
  PgClient.PgClient | SqlClient.SqlClient
> = Layer.provideMerge(layer, Migrations.layer).pipe(Layer.map((context) => context))

export interface ClientOptions {
  readonly url: Redacted.Redacted<string>
  /** Connections in the pool; PGlite wants exactly one. */
  readonly maxConnections?: number | undefined
  /** A schema to work in (`search_path`), for tests that keep each run apart. */
  readonly schema?: string | undefined
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Session settings for every connection (`SET name = value`), e.g. `statement_timeout`. */
  readonly settings?: Readonly<Record<string, string>> | undefined
}

/** The startup `options` of a connection: `-c name=value` per setting, spaces and backslashes escaped. */
const startupOptions = (options: ClientOptions): string | undefined => {
  const settings = {
    ...options.settings,
    ...(options.schema === undefined ? {} : { search_path: options.schema }),
  }
  const parts = Object.entries(settings).map(
    ([name, value]) => `-c ${name}=${value.replace(/([\\ ])/g, "\\$1")}`,
  )
  return parts.length === 0 ? undefined : parts.join(" ")
}

const describeTarget = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
  } catch {
    return "the configured server"
  }
}

/**
 * A PgClient over a `pg` pool this adapter owns: it logs the errors of idle pool connections (which
 * `@effect/sql-pg` swallows), sets the schema when asked, and fails at start with a message that names the
 * server when it cannot connect.
 */
export const clientLayer = (
  options: ClientOptions,
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient | PgPool, SqlError> =>
  Layer.unwrapEffect(
    Effect.map(PgPool, (pool) =>
      PgClient.layerFromPool({ applicationName: "chat4all", acquire: Effect.succeed(pool) }),
    ),
  ).pipe(Layer.provideMerge(poolLayer(options)))

/** The `pg` pool itself, ended with the layer; the PgClient above borrows it. */
const poolLayer = (options: ClientOptions): Layer.Layer<PgPool, SqlError> =>
  Layer.scoped(
    PgPool,
    Effect.gen(function* () {
      const runtime = yield* Effect.runtime<never>()
      const url = Redacted.value(options.url)
      const timeout = Duration.toMillis(options.connectTimeout ?? Duration.seconds(10))
      if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema))
        return yield* new SqlError({
          message: `schema ${JSON.stringify(options.schema)} is not a plain identifier`,
        })
      const badSetting = Object.keys(options.settings ?? {}).find((name) => !/^[a-z_][a-z0-9_.]*$/.test(name))
      if (badSetting !== undefined)
        return yield* new SqlError({ message: `setting ${JSON.stringify(badSetting)} is not a plain name` })
      const startup = startupOptions(options)
      return yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: async () => {
            const pool = new pg.Pool({
              connectionString: url,
              max: options.maxConnections ?? 10,
              connectionTimeoutMillis: timeout,
              application_name: "chat4all",
              ...(startup === undefined ? {} : { options: startup }),
            })
            pool.on("error", (error) => {
              Runtime.runFork(runtime)(
                Effect.logWarning(`PostgreSQL: an idle pooled connection failed: ${error.message}`),
              )
            })
            try {
              await pool.query("SELECT 1")
            } catch (error) {
              await pool.end().catch(() => undefined)
              throw error
            }
            return pool
          },
          catch: (cause) =>
            new SqlError({
              cause,
              message: `cannot connect to PostgreSQL at ${describeTarget(url)}: ${cause instanceof Error ? cause.message : String(cause)}`,
            }),
        }),
        (pool) => Effect.promise(() => pool.end()).pipe(Effect.timeoutOption("5 seconds")),
      )
    }),
  )

/** Where the embedded database keeps its files inside DATA_DIR. */
export const embeddedDirectory = (dataDir: string) => Path.join(dataDir, "postgres")

/** A PgClient over the embedded database in `dataDir`, served on loopback for the lifetime of the layer. */
export const embeddedClientLayer = (
  dataDir: string,
): Layer.Layer<
  PgClient.PgClient | SqlClient.SqlClient | EmbeddedPostgres.EmbeddedPostgres,
  SqlError | EmbeddedPostgres.EmbeddedPostgresError
> =>
  Layer.unwrapEffect(
    Effect.map(EmbeddedPostgres.EmbeddedPostgres, (server) =>
      clientLayer({ url: server.url, maxConnections: 1 }),
    ),
  ).pipe(Layer.provideMerge(EmbeddedPostgres.layer({ dataDir: embeddedDirectory(dataDir) })))

export type StartupError =
  | ConfigError.ConfigError
  | SqlError
  | MigrationError
  | EmbeddedPostgres.EmbeddedPostgresError

/**
 * The storage the app starts with: PostgreSQL at `DATABASE_URL` when it is set (a pool of
 * `CHAT4ALL_DB_POOL_MAX` connections, 10 by default), otherwise the embedded database under `DATA_DIR`
 * (default `./.chat4all`). Migrations run before the ports are handed out.
 */
export const layerFromEnv: Layer.Layer<Storage | PgClient.PgClient | SqlClient.SqlClient, StartupError> =
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const url = yield* Config.option(Config.redacted("DATABASE_URL"))
      const dataDir = yield* Config.string("DATA_DIR").pipe(Config.withDefault("./.chat4all"))
      const poolMax = yield* Config.integer("CHAT4ALL_DB_POOL_MAX").pipe(Config.withDefault(10))
      const client: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, StartupError> = Option.isSome(url)
        ? clientLayer({ url: url.value, maxConnections: poolMax })
        : embeddedClientLayer(dataDir)
      return Layer.provideMerge(layerMigrated, client)
    }),
  )

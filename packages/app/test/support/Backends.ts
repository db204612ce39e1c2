import { EmbeddedPostgres, PostgresStore } from "@chat4all/adapters/postgres"
import type * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import type { PgClient } from "@effect/sql-pg"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import pg from "pg"
import { afterAll, beforeAll, describe } from "vitest"
import * as Storage from "../../src/Storage.js"
import { start, type TestServer } from "./TestServer.js"

/**
 * Where the HTTP suites run: in memory, on the embedded PostgreSQL (always), and on a real PostgreSQL when
 * DATABASE_URL is set. Under CI=true the real server is mandatory: a missing one fails the run.
 */
const databaseUrl = process.env.DATABASE_URL || undefined
const realRequired = process.env.CI === "true"

export interface Backend {
  readonly name: string
  /** A fresh storage for one suite, and what to clean up after it. */
  readonly make: () => { readonly storage: Storage.Storage<unknown, never>; readonly cleanup: () => void }
}

const memory: Backend = { name: "memory", make: () => ({ storage: Storage.memory, cleanup: () => {} }) }

/**
 * One embedded database per test file (creating one costs seconds): every suite of the file gets its own
 * server over it, and the suites keep apart by using tenants of their own. It is the embedded default
 * (PGlite served on loopback, one connection) with its files in memory; the CLI test runs it on disk.
 */
let sharedEmbedded:
  | {
      readonly runtime: ManagedRuntime.ManagedRuntime<PgClient.PgClient | SqlClient.SqlClient, unknown>
      readonly dir: string
    }
  | undefined

const embeddedDatabase = () => {
  if (sharedEmbedded === undefined) {
    const dir = "memory://"
    const client = Layer.unwrapEffect(
      Effect.map(EmbeddedPostgres.EmbeddedPostgres, (server) =>
        PostgresStore.clientLayer({ url: server.url, maxConnections: 1 }),
      ),
    ).pipe(Layer.provide(EmbeddedPostgres.layer({ dataDir: dir })))
    const runtime = ManagedRuntime.make(client)
    sharedEmbedded = { runtime, dir }
    afterAll(() => runtime.dispose(), 60_000)
  }
  return sharedEmbedded
}

const embedded: Backend = {
  name: "embedded postgres",
  make: () => {
    const { runtime } = embeddedDatabase()
    const client = Layer.effectContext(Effect.map(runtime.runtimeEffect, (rt) => rt.context))
    return { storage: Storage.postgres(client, "embedded PostgreSQL in memory"), cleanup: () => {} }
  },
}

const admin = (url: string, text: string) =>
  Effect.tryPromise({
    try: async () => {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      try {
        await client.query(text)
      } finally {
        await client.end()
      }
    },
    catch: (cause) => new SqlError({ cause, message: `${text}: ${String(cause)}` }),
  })

/** A schema of its own on the real server for one suite, dropped when the suite's server stops. */
const real: Backend = {
  name: "postgres",
  make: () => {
    const schema = `c4a_app_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
    const client = Layer.unwrapScoped(
      Effect.gen(function* () {
        if (databaseUrl === undefined)
          return yield* new SqlError({
            message: "CI=true but DATABASE_URL is not set: the PostgreSQL suites must run",
          })
        yield* Effect.acquireRelease(admin(databaseUrl, `CREATE SCHEMA ${schema}`), () =>
          admin(databaseUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`).pipe(Effect.orDie),
        )
        return PostgresStore.clientLayer({ url: Redacted.make(databaseUrl), schema, maxConnections: 4 })
      }),
    )
    return { storage: Storage.postgres(client, `PostgreSQL schema ${schema}`), cleanup: () => {} }
  },
}

/** The backends of this run. */
export const backends: ReadonlyArray<Backend> =
  databaseUrl !== undefined || realRequired ? [memory, embedded, real] : [memory, embedded]

let noticed = false
const notice = () => {
  if (noticed || databaseUrl !== undefined || realRequired) return
  noticed = true
  console.info(
    "[app tests] DATABASE_URL is not set: the suites on a real PostgreSQL are skipped (memory and the embedded " +
      "PostgreSQL run). Set DATABASE_URL=postgres://... to run them; CI=true makes them mandatory.",
  )
}

/**
 * Declares a suite once per backend, each with its own server (started before, closed after). `env` is
 * the server's configuration.
 */
export const eachBackend = (
  title: string,
  body: (server: () => TestServer) => void,
  env: Record<string, string> = {},
) => {
  notice()
  // Registered at file level before the suites, so that it runs after all of them.
  if (backends.includes(embedded)) embeddedDatabase()
  for (const backend of backends) {
    describe(`${title} [${backend.name}]`, () => {
      let server: TestServer | undefined
      let cleanup = () => {}
      beforeAll(async () => {
        const made = backend.make()
        cleanup = made.cleanup
        server = await start(made.storage, env)
      }, 120_000)
      afterAll(async () => {
        await server?.close()
        cleanup()
      }, 60_000)
      body(() => {
        if (server === undefined) throw new Error("the test server did not start")
        return server
      })
    })
  }
}

import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { TestIdGenerator } from "@chat4all/domain/testing"
import type * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import type { PgClient } from "@effect/sql-pg"
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import pg from "pg"
import { PostgresStore } from "../../src/postgres/index.js"

/**
 * Where the tests find PostgreSQL. The embedded default always runs. A real server runs when
 * DATABASE_URL is set; under CI=true it must (`.ci/run` sets it), and a missing server fails the run.
 */
export const databaseUrl: string | undefined = process.env.DATABASE_URL || undefined
export const realRequired = process.env.CI === "true"
export const skipReal = databaseUrl === undefined && !realRequired

/** Says why the real-PostgreSQL suites of a file are skipped, once per file. */
export const noticeSkip = (file: string) => {
  if (skipReal)
    console.info(
      `[${file}] DATABASE_URL is not set: the real PostgreSQL suites are skipped ` +
        "(set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run them; CI=true makes them mandatory)",
    )
}

const requireUrl = Effect.suspend(() =>
  databaseUrl === undefined
    ? Effect.fail(
        new SqlError({
          message: "CI=true but DATABASE_URL is not set: the real PostgreSQL suites must run in CI",
        }),
      )
    : Effect.succeed(databaseUrl),
)

const adminQuery = (url: string, text: string) =>
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

export const randomSchema = () =>
  `c4a_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 10)}`

/**
 * A schema of its own on the real server for the lifetime of the layer (dropped afterwards, so leftovers of
 * one run change nothing in the next), migrated, with a PgClient whose search_path is that schema.
 */
export const realClient = (
  options: {
    readonly maxConnections?: number
    readonly settings?: Readonly<Record<string, string>>
    /**
     * Without the `pg` pool beside the client, the stores take their general path through `@effect/sql`
     * alone (the path a commit inside a caller's transaction takes), so that it runs the contracts too.
     */
    readonly withoutPool?: boolean
  } = {},
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient | Schema, SqlError> =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const url = yield* requireUrl
      const schema = randomSchema()
      yield* Effect.acquireRelease(adminQuery(url, `CREATE SCHEMA ${schema}`), () =>
        adminQuery(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`).pipe(Effect.orDie),
      )
      const client = PostgresStore.clientLayer({
        url: Redacted.make(url),
        schema,
        maxConnections: options.maxConnections,
        settings: options.settings,
      })
      return Layer.merge(
        options.withoutPool === true ? Layer.map(client, Context.omit(PostgresStore.PgPool)) : client,
        Layer.succeed(Schema, { url, schema }),
      )
    }),
  )

/** The schema a real-server layer works in, for tests that open their own connections to it. */
export class Schema extends Effect.Tag("test/postgres/Schema")<
  Schema,
  { readonly url: string; readonly schema: string }
>() {}

/** A fresh temporary DATA_DIR, removed when the scope closes. */
export const tempDataDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "chat4all-pg-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })),
)

/** The embedded default in a fresh DATA_DIR of its own. */
export const embeddedClient: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, unknown> =
  Layer.unwrapScoped(Effect.map(tempDataDir, (dir) => PostgresStore.embeddedClientLayer(dir)))

/** The storage ports with a test IdGenerator, migrated, over a client layer. */
export const storage = <A, E>(client: Layer.Layer<A | PgClient.PgClient | SqlClient.SqlClient, E>) =>
  Layer.merge(PostgresStore.layerMigrated, TestIdGenerator.layer).pipe(Layer.provideMerge(client))

/**
 * Builds a layer once for a whole test file (the embedded database takes seconds to initialise) and
 * hands back its context as a layer the suites can share; `release` closes it.
 */
export const shared = async <A, E>(layer: Layer.Layer<A, E>) => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  return {
    layer: Layer.succeedContext(context),
    release: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  }
}

import * as Fs from "node:fs"
import * as Path from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { Context, Data, Effect, Layer, Redacted, type Scope } from "effect"

/**
 * The embedded default: PostgreSQL compiled to WebAssembly (PGlite), its data in a directory, served on
 * a loopback port by `@electric-sql/pglite-socket`, so that the same `@effect/sql-pg` adapter that talks
 * to a real server talks to it. One process owns a data directory at a time (a lock file says which).
 *
 * PGlite is a single session: the socket server runs one statement at a time and keeps a transaction on
 * the connection that opened it. Clients should use a pool of one connection (see `PostgresStore`).
 */
export class EmbeddedPostgres extends Context.Tag("@chat4all/adapters/postgres/EmbeddedPostgres")<
  EmbeddedPostgres,
  {
    /** `postgres://postgres@127.0.0.1:<port>/postgres` */
    readonly url: Redacted.Redacted<string>
    readonly host: string
    readonly port: number
    /** Where the database files are; `memory://` for a database that lives as long as the process. */
    readonly dataDir: string
  }
>() {}

export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface Options {
  /** A directory for the database files (created when missing), or `memory://`. */
  readonly dataDir: string
  /** The loopback port to serve on; 0 (the default) takes any free one. */
  readonly port?: number | undefined
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Takes the data directory's lock file, or says which live process holds it. */
const lock = (lockFile: string) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        for (let attempt = 0; attempt < 2; attempt++) {
          try {
            Fs.writeFileSync(lockFile, `${process.pid}\n`, { flag: "wx" })
            return
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
            const holder = Number.parseInt(Fs.readFileSync(lockFile, "utf8").trim(), 10)
            if (Number.isInteger(holder) && holder > 0 && isAlive(holder))
              throw new Error(
                `the embedded database is in use by process ${holder}${holder === process.pid ? " (this one)" : ""}; ` +
                  `stop it, or set DATA_DIR to another directory or DATABASE_URL to a PostgreSQL server`,
              )
            // The holder is gone without cleaning up: the lock is stale.
            Fs.rmSync(lockFile, { force: true })
          }
        }
        throw new Error(`could not take ${lockFile}`)
      },
      catch: (cause) =>
        new EmbeddedPostgresError({
          message: `cannot lock ${lockFile}: ${cause instanceof Error ? cause.message : String(cause)}`,
          cause,
        }),
    }),
    () => Effect.sync(() => Fs.rmSync(lockFile, { force: true })),
  )

/** Starts PGlite on `dataDir` and serves it on loopback until the scope closes. */
export const make = (
  options: Options,
): Effect.Effect<EmbeddedPostgres["Type"], EmbeddedPostgresError, Scope.Scope> =>
  Effect.gen(function* () {
    const inMemory = options.dataDir.startsWith("memory://")
    const dataDir = inMemory ? options.dataDir : Path.resolve(options.dataDir)
    if (!inMemory) {
      yield* Effect.try({
        try: () => Fs.mkdirSync(dataDir, { recursive: true }),
        catch: (cause) =>
          new EmbeddedPostgresError({
            message: `cannot create the database directory ${dataDir}: ${String(cause)}`,
            cause,
          }),
      })
      yield* lock(`${dataDir}.lock`)
    }
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => PGlite.create({ dataDir }),
        catch: (cause) =>
          new EmbeddedPostgresError({
            message: `cannot open the embedded database in ${dataDir}: ${cause instanceof Error ? cause.message : String(cause)}`,
            cause,
          }),
      }),
      (db) =>
        Effect.tryPromise(() => db.close()).pipe(
          Effect.catchAll((cause) =>
            Effect.logWarning(`closing the embedded database in ${dataDir} failed`, cause),
          ),
        ),
    )
    const host = "127.0.0.1"
    const server = new PGLiteSocketServer({
      db,
      host,
      port: options.port ?? 0,
      // One client pool of one connection is the intended use; a few more let an operator look in with psql.
      maxConnections: 4,
    })
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => server.start(),
        catch: (cause) =>
          new EmbeddedPostgresError({
            message: `cannot serve the embedded database on ${host}:${options.port ?? 0}: ${String(cause)}`,
            cause,
          }),
      }),
      () => Effect.promise(() => server.stop()),
    )
    const port = Number(server.getServerConn().split(":").pop())
    yield* Effect.logDebug(`embedded PostgreSQL (PGlite) in ${dataDir} on ${host}:${port}`)
    return {
      url: Redacted.make(`postgres://postgres@${host}:${port}/postgres`),
      host,
      port,
      dataDir,
    }
  })

export const layer = (options: Options): Layer.Layer<EmbeddedPostgres, EmbeddedPostgresError> =>
  Layer.scoped(EmbeddedPostgres, make(options))

import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import type { PgClient } from "@effect/sql-pg"
import { Context, Effect, Either, Exit, Option } from "effect"
import type pg from "pg"

const scalarText = (value: unknown): string => {
  switch (typeof value) {
    case "string":
      return value
    case "number":
      if (!Number.isFinite(value)) throw new Error(`cannot write ${value} to PostgreSQL`)
      return String(value)
    case "bigint":
    case "boolean":
      return String(value)
    default:
      throw new Error(`cannot inline a ${typeof value} into SQL`)
  }
}

/**
 * A quoted string literal, as `pg.escapeLiteral` writes it (quotes doubled; with backslashes, doubled in an
 * E'' string), by native replaces: `escapeLiteral` walks the string a character at a time, which showed up
 * in the profile of a commit whose rows are one long JSON text.
 */
const quote = (text: string): string => {
  const body = text.replace(/'/g, "''")
  return text.includes("\\") ? ` E'${body.replace(/\\/g, "\\\\")}'` : `'${body}'`
}

const arrayElement = (value: unknown): string =>
  value === null || value === undefined ? "NULL" : `"${scalarText(value).replace(/[\\"]/g, "\\$&")}"`

/**
 * The SQL literal of a statement parameter: NULL, a quoted string, or for an array one quoted array
 * literal (`'{"a","b"}'`). Every array this adapter inlines is followed by a cast (`::text[]`), which
 * types it. One string per array rather than `ARRAY[...]` of a literal per element: the server parses
 * one constant instead of hundreds, which cut its CPU per commit.
 */
export const literal = (value: unknown): string => {
  if (value === null || value === undefined) return "NULL"
  if (!Array.isArray(value)) return quote(scalarText(value))
  let text = "{"
  for (let i = 0; i < value.length; i++) text += (i === 0 ? "" : ",") + arrayElement(value[i])
  return quote(`${text}}`)
}

/**
 * The text of a statement with its parameters written in as literals, for the simple query protocol,
 * which runs several statements in one round trip but takes no parameters. The statements inlined here
 * are this adapter's own: their text holds no `$n` but their placeholders.
 */
export const inline = (statement: Statement.Statement<unknown>): string => {
  const [text, params] = statement.compile()
  return text.replace(/\$([0-9]+)/g, (_, n: string) => literal(params[Number(n) - 1]))
}

/** The first round trip of a transaction: BEGIN and the statements that read what its body needs. */
const openingText = (first: ReadonlyArray<Statement.Statement<unknown>>): string =>
  ["BEGIN", ...first.map(inline)].join(";\n")

/** The last round trip: the body's statements and the COMMIT. */
const closingText = (last: ReadonlyArray<Statement.Statement<unknown>>): string =>
  [...last.map(inline), "COMMIT"].join(";\n")

/** What a transaction's body answers: its value, and the statements to send with the COMMIT. */
export type Final<A> = readonly [value: A, last: ReadonlyArray<Statement.Statement<unknown>>]

export const final = <A>(value: A, last: ReadonlyArray<Statement.Statement<unknown>> = []): Final<A> => [
  value,
  last,
]

/** The rows of each statement of a multi-statement simple query, whatever node-postgres answered. */
const rowsOf = (result: ReadonlyArray<unknown>, statements: number): ReadonlyArray<ReadonlyArray<Row>> =>
  statements === 1 ? [result as ReadonlyArray<Row>] : (result as ReadonlyArray<ReadonlyArray<Row>>)

export type Row = Record<string, unknown>

/**
 * A transaction in two round trips: BEGIN with the statements `first` (which read what the body needs),
 * then the statements the body hands back with the COMMIT. Two reasons not to use `sql.withTransaction`:
 *
 * - fewer round trips: each costs the node process far more than the statement costs the server, and the
 *   last statements of a commit take the tenant's event head row, whose lock serialises the tenant's
 *   commits: sent together with COMMIT, that lock is held while PostgreSQL executes and commits, never
 *   while a result travels to this process and the next statement comes back;
 * - `withTransaction` turns a failed COMMIT into a defect, and a COMMIT can fail for ordinary reasons (a
 *   serialization failure under stricter isolation, a lost connection): here it is a SqlError, which the
 *   caller retries or reports.
 *
 * The statements of one round trip run one after the other, each with its own snapshot under read
 * committed: a statement after a `SELECT ... FOR UPDATE` sees what the transaction it waited for wrote.
 * Statements in between (inside `body`) run on the transaction's connection as usual.
 *
 * Inside a transaction the caller already opened, it runs as a savepoint of that one, statement by
 * statement (the caller's COMMIT is the commit).
 */
export const transaction = <A, E, R>(
  sql: PgClient.PgClient,
  first: ReadonlyArray<Statement.Statement<unknown>>,
  body: (rows: ReadonlyArray<ReadonlyArray<Row>>) => Effect.Effect<Final<A>, E, R>,
): Effect.Effect<A, E | SqlError, R> =>
  Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (outer) =>
    Option.isSome(outer)
      ? sql.withTransaction(
          Effect.gen(function* () {
            const rows: Array<ReadonlyArray<Row>> = []
            for (const statement of first) rows.push((yield* statement) as ReadonlyArray<Row>)
            const [value, last] = yield* body(rows)
            for (const statement of last) yield* statement
            return value
          }),
        )
      : Effect.uninterruptibleMask((restore) =>
          Effect.scoped(
            Effect.gen(function* () {
              const conn = yield* sql.reserve
              const rollback = conn
                .executeUnprepared("ROLLBACK", [], undefined)
                .pipe(
                  Effect.catchAll((error) =>
                    Effect.logWarning(`PostgreSQL: ROLLBACK failed: ${error.message}`, error),
                  ),
                )
              const opening = openingText(first)
              const exit = yield* Effect.exit(
                restore(
                  Effect.flatMap(conn.executeUnprepared(opening, [], undefined), (result) =>
                    Effect.provideService(
                      body(rowsOf(result, first.length + 1).slice(1)),
                      SqlClient.TransactionConnection,
                      [conn, 0] as const,
                    ),
                  ),
                ),
              )
              if (Exit.isFailure(exit)) {
                yield* rollback
                return yield* Effect.failCause(exit.cause)
              }
              const [value, last] = exit.value
              const closing = closingText(last)
              // A failed statement leaves the transaction aborted (and skips the COMMIT): roll it back.
              yield* Effect.tapError(conn.executeUnprepared(closing, [], undefined), () => rollback)
              return value
            }),
          ),
        ).pipe(Effect.withSpan("sql.transaction", { kind: "client" })),
  )

/**
 * The `pg` pool under the PgClient, for the one path hot enough to go around `@effect/sql`: the commit of
 * the conversation actor. `PostgresStore.clientLayer` provides it beside the PgClient; stores that find it
 * absent take the general path.
 */
export class PgPool extends Context.Tag("@chat4all/adapters/postgres/PgPool")<PgPool, pg.Pool>() {}

const statementError = (cause: unknown) => new SqlError({ cause, message: "Failed to execute statement" })

/**
 * `transaction` for a body that does no I/O of its own, on a client of the pool, as one `Effect.async`:
 * the same two round trips (BEGIN with `first`, then what the body hands back with the COMMIT), without
 * the scope, the connection wrapper and the dozens of effects per statement of the general path, which
 * cost the node process several times what the round trips themselves do. It runs to its end once
 * started (uninterruptible), as the general path does from its COMMIT on: an interrupted caller cannot
 * leave a transaction half done or a connection unreturned.
 *
 * A body that throws is a defect, answered after the ROLLBACK.
 */
export const transactionOnPool = <A, E>(
  pool: pg.Pool,
  first: ReadonlyArray<Statement.Statement<unknown>>,
  body: (rows: ReadonlyArray<ReadonlyArray<Row>>) => Either.Either<Final<A>, E>,
): Effect.Effect<A, E | SqlError> =>
  Effect.uninterruptible(
    Effect.async<A, E | SqlError>((resume) => {
      const opening = openingText(first)
      pool.connect((error, client, release) => {
        if (error !== undefined || client === undefined)
          return resume(
            Effect.fail(
              new SqlError({ cause: error, message: "Failed to acquire connection for transaction" }),
            ),
          )
        // A connection that failed under us goes back to the pool as broken, which closes it.
        let broken: Error | undefined
        const onError = (cause: Error) => {
          broken = cause
        }
        client.on("error", onError)
        const done = (answer: Effect.Effect<A, E | SqlError>) => {
          client.off("error", onError)
          release(broken)
          resume(answer)
        }
        const rollback = (answer: Effect.Effect<A, E | SqlError>) =>
          client.query("ROLLBACK", (failed: Error | null) => {
            if (failed !== null) broken ??= failed
            done(answer)
          })
        client.query(opening, (failed: Error | null, results: pg.QueryResult | Array<pg.QueryResult>) => {
          if (failed !== null) return rollback(Effect.fail(statementError(failed)))
          let decided: Either.Either<Final<A>, E>
          let closing: string
          try {
            const all = Array.isArray(results) ? results : [results]
            decided = body(all.slice(1).map((result) => (result.rows ?? []) as ReadonlyArray<Row>))
            if (Either.isLeft(decided)) return rollback(Effect.fail(decided.left))
            closing = closingText(decided.right[1])
          } catch (defect) {
            return rollback(Effect.die(defect))
          }
          const value = decided.right[0]
          client.query(closing, (failed: Error | null) => {
            // A failed statement leaves the transaction aborted (and skips the COMMIT): roll it back.
            if (failed !== null) return rollback(Effect.fail(statementError(failed)))
            done(Effect.succeed(value))
          })
        })
      })
    }),
  )

import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import type { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Option } from "effect"
import pg from "pg"

/** A PostgreSQL array literal (`{"a",NULL,"b"}`) of strings, numbers and nulls. */
const arrayLiteral = (values: ReadonlyArray<unknown>): string =>
  `{${values
    .map((v) =>
      v === null || v === undefined
        ? "NULL"
        : Array.isArray(v)
          ? arrayLiteral(v)
          : `"${scalarText(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`,
    )
    .join(",")}}`

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

/** The SQL literal of a statement parameter: NULL, or a quoted string (`E'...'` when it has backslashes). */
export const literal = (value: unknown): string =>
  value === null || value === undefined
    ? "NULL"
    : pg.escapeLiteral(Array.isArray(value) ? arrayLiteral(value) : scalarText(value))

/**
 * The text of a statement with its parameters written in as literals, for the simple query protocol,
 * which runs several statements in one round trip but takes no parameters. The statements inlined here
 * are this adapter's own: their text holds no `$n` but their placeholders.
 */
export const inline = (statement: Statement.Statement<unknown>): string => {
  const [text, params] = statement.compile()
  return text.replace(/\$([0-9]+)/g, (_, n: string) => literal(params[Number(n) - 1]))
}

/** What a transaction's body answers: its value, and the statements to send with the COMMIT. */
export type Final<A> = readonly [value: A, last: ReadonlyArray<Statement.Statement<unknown>>]

export const final = <A>(value: A, last: ReadonlyArray<Statement.Statement<unknown>> = []): Final<A> => [
  value,
  last,
]

/**
 * Runs `body` in a transaction and then, in one round trip, the statements it hands back followed by
 * COMMIT. Two reasons not to use `sql.withTransaction`:
 *
 * - the last statements of a commit take the tenant's event head row, whose lock serialises the
 *   tenant's commits: sent together with COMMIT, it is held while PostgreSQL executes and commits, never
 *   while a result travels to this process and the next statement back;
 * - `withTransaction` turns a failed COMMIT into a defect, and a COMMIT can fail for ordinary reasons (a
 *   serialization failure under stricter isolation, a lost connection): here it is a SqlError, which the
 *   caller retries or reports.
 *
 * Inside a transaction the caller already opened, it runs as a savepoint of that one and the final
 * statements run in it (the caller's COMMIT is the commit).
 */
export const transaction = <A, E, R>(
  sql: PgClient.PgClient,
  body: Effect.Effect<Final<A>, E, R>,
): Effect.Effect<A, E | SqlError, R> =>
  Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (outer) =>
    Option.isSome(outer)
      ? sql.withTransaction(
          Effect.flatMap(body, ([value, last]) =>
            Effect.as(
              Effect.forEach(last, (s) => s, { discard: true }),
              value,
            ),
          ),
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
              yield* conn.executeUnprepared("BEGIN", [], undefined)
              const exit = yield* Effect.exit(
                restore(Effect.provideService(body, SqlClient.TransactionConnection, [conn, 0] as const)),
              )
              if (Exit.isFailure(exit)) {
                yield* rollback
                return yield* Effect.failCause(exit.cause)
              }
              const [value, last] = exit.value
              const text = [...last.map(inline), "COMMIT"].join(";\n")
              // A failed statement leaves the transaction aborted (and skips the COMMIT): roll it back.
              yield* Effect.tapError(conn.executeUnprepared(text, [], undefined), () => rollback)
              return value
            }),
          ),
        ).pipe(Effect.withSpan("sql.transaction", { kind: "client" })),
  )

import { Outbox } from "@chat4all/domain"
import { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Layer } from "effect"
import { unavailable } from "./internal/errors.js"
import { type EventRow, eventSelect, toEvent } from "./internal/events.js"
import { decodeRows, millis } from "./internal/rows.js"

/** Outbox ids are the row's identity, in decimal. */
const isId = (id: string) => /^[1-9][0-9]{0,18}$/.test(id)

/**
 * The transactional outbox over PostgreSQL. `claim` takes the oldest entries whose lease has lapsed with
 * `FOR UPDATE SKIP LOCKED`, so any number of relays on any number of nodes claim disjoint entries without
 * waiting for each other, and leases them until `now + leaseMs` (the Clock's now, as every lease time).
 */
export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient

  const claim = ({ limit, leaseMs }: { readonly limit: number; readonly leaseMs: number }) =>
    Effect.gen(function* () {
      if (limit <= 0) return []
      const now = yield* Clock.currentTimeMillis
      const rows = yield* sql<EventRow & { readonly outbox_id: string; readonly attempts: number }>`
        WITH claimed AS (
          UPDATE outbox SET lease_until = ${now + Math.max(0, leaseMs)}, attempts = outbox.attempts + 1
          WHERE id IN (
            SELECT id FROM outbox WHERE lease_until <= ${now}
            ORDER BY id LIMIT ${limit}
            FOR UPDATE SKIP LOCKED
          )
          RETURNING id, tenant_id, position, attempts
        )
        SELECT claimed.id AS outbox_id, claimed.attempts, ${sql.literal(eventSelect)}
        FROM claimed JOIN events e ON e.tenant_id = claimed.tenant_id AND e.position = claimed.position
        ORDER BY claimed.id`
      return yield* decodeRows("Outbox.claim", () =>
        rows.map(
          (row): Outbox.OutboxEntry => ({
            id: String(row.outbox_id),
            event: toEvent(row),
            attempts: row.attempts,
          }),
        ),
      )
    }).pipe(unavailable("Outbox.claim"), Effect.withSpan("Outbox.claim"))

  const complete = (ids: ReadonlyArray<string>) => {
    const valid = ids.filter(isId)
    return valid.length === 0
      ? Effect.void
      : sql`DELETE FROM outbox WHERE id = ANY(${valid}::bigint[])`.pipe(
          Effect.asVoid,
          unavailable("Outbox.complete"),
          Effect.withSpan("Outbox.complete"),
        )
  }

  const release = (id: string, retryAt: number) =>
    !isId(id)
      ? Effect.void
      : sql`UPDATE outbox SET lease_until = ${retryAt} WHERE id = ${id}::bigint`.pipe(
          Effect.asVoid,
          unavailable("Outbox.release"),
          Effect.withSpan("Outbox.release"),
        )

  const depth = sql<{ readonly count: number; readonly oldest_at: string | null }>`
    SELECT count(*)::int AS count, min(at) AS oldest_at FROM outbox`.pipe(
    Effect.map(([row]) => ({
      count: row?.count ?? 0,
      oldestAt: row?.oldest_at === null || row?.oldest_at === undefined ? undefined : millis(row.oldest_at),
    })),
    unavailable("Outbox.depth"),
    Effect.withSpan("Outbox.depth"),
  )

  return Outbox.Outbox.of({ claim, complete, release, depth })
})

export const layer: Layer.Layer<Outbox.Outbox, never, PgClient.PgClient> = Layer.effect(Outbox.Outbox, make)

import { EventLog } from "@chat4all/domain"
import { PgClient } from "@effect/sql-pg"
import { type Context, Effect, Layer } from "effect"
import { unavailable } from "./internal/errors.js"
import { type EventRow, eventSelect, toEvent } from "./internal/events.js"
import { decodeRows } from "./internal/rows.js"

type Service = Context.Tag.Service<EventLog.EventLog>

/**
 * EventLog over PostgreSQL. A cursor is a position in the tenant's log, in decimal. Positions are handed
 * out by the commit itself as its last step, under the tenant's head row lock (see `events.append`), so
 * they become visible in order: when position n is visible, every position below it is too, and a cursor
 * never skips an event that commits late.
 */
export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient

  const headOf = (tenantId: string) =>
    Effect.map(
      sql<{ readonly position: string }>`SELECT position FROM event_heads WHERE tenant_id = ${tenantId}`,
      (rows) => BigInt(rows[0]?.position ?? 0),
    )

  const head: Service["head"] = (tenantId) =>
    headOf(tenantId).pipe(Effect.map(String), unavailable("EventLog.head"), Effect.withSpan("EventLog.head"))

  const since: Service["since"] = (tenantId, userId, cursor, limit) =>
    Effect.gen(function* () {
      if (!/^(0|[1-9][0-9]{0,18})$/.test(cursor)) return yield* new EventLog.InvalidCursor({ cursor })
      const after = BigInt(cursor)
      // One statement, one snapshot: the head read here covers exactly the events visible to it.
      const rows = yield* sql<EventRow & { readonly head: string }>`
        WITH head AS (
          SELECT COALESCE((SELECT position FROM event_heads WHERE tenant_id = ${tenantId}), 0) AS position
        )
        SELECT ${sql.literal(eventSelect)}, head.position AS head
        FROM head LEFT JOIN LATERAL (
          SELECT * FROM events e
          WHERE e.tenant_id = ${tenantId} AND e.position > ${String(after)}::bigint
            AND (
              EXISTS (
                SELECT 1 FROM members
                WHERE members.tenant_id = e.tenant_id AND members.conversation_id = e.conversation_id
                  AND members.user_id = ${userId}
              )
              OR (e.type = 'member.removed' AND e.subject_id = ${userId})
            )
          ORDER BY e.position
          LIMIT ${limit + 1}
        ) e ON true
        ORDER BY e.position`
      const headPosition = BigInt(rows[0]?.head ?? 0)
      if (after > headPosition) return yield* new EventLog.InvalidCursor({ cursor })
      const found = rows.filter((row) => row.id !== null)
      const hasMore = found.length > limit
      const page = hasMore ? found.slice(0, limit) : found
      const events = yield* decodeRows("EventLog.since", () => page.map(toEvent))
      const last = page[page.length - 1]
      // With nothing more to see, the reader moves to the head: the events between were not for them.
      const nextCursor = hasMore && last !== undefined ? String(last.position) : String(headPosition)
      return { events, nextCursor, hasMore }
    }).pipe(unavailable("EventLog.since"), Effect.withSpan("EventLog.since"))

  return EventLog.EventLog.of({ head, since })
})

export const layer: Layer.Layer<EventLog.EventLog, never, PgClient.PgClient> = Layer.effect(
  EventLog.EventLog,
  make,
)

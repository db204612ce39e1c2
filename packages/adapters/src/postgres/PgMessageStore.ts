import { Delivery, MessageStore } from "@chat4all/domain"
import { PgClient } from "@effect/sql-pg"
import { type Context, Effect, Layer, Option, Schema } from "effect"
import { unavailable } from "./internal/errors.js"
import { decodeMessages, deliveryRows, loadStatus } from "./internal/reads.js"
import { decodeRows, type MessageRow, messageColumns, millis, toDelivery } from "./internal/rows.js"

interface TransitionRow {
  readonly message_id: string
  readonly status: string
  readonly user_id: string | null
  readonly channel: string | null
  readonly at: string | number
  readonly detail: string | null
}

type Service = Context.Tag.Service<MessageStore.MessageStore>

const decodeTransition = Schema.decodeUnknownSync(Delivery.StatusTransition)

/** MessageStore over PostgreSQL: messages by id and by seq with their aggregate status, and their history. */
export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const columns = sql.literal(messageColumns)

  const get: Service["get"] = (tenantId, messageId) =>
    Effect.gen(function* () {
      const rows = yield* sql<MessageRow>`
        SELECT ${columns} FROM messages WHERE tenant_id = ${tenantId} AND id = ${messageId}`
      const loaded = yield* loadStatus(sql, tenantId, rows)
      const [message] = yield* decodeRows("MessageStore.get", () => decodeMessages(loaded))
      return Option.fromNullable(message)
    }).pipe(unavailable("MessageStore.get"), Effect.withSpan("MessageStore.get"))

  const list: Service["list"] = (tenantId, conversationId, { after, before, limit }) =>
    Effect.gen(function* () {
      const lower = after === undefined ? sql`` : sql`AND seq > ${after}`
      const upper = before === undefined ? sql`` : sql`AND seq < ${before}`
      // With `after`, the first `limit` above it; without, the last `limit` below `before` (or the end).
      const rows =
        after === undefined
          ? yield* sql<MessageRow>`
              SELECT * FROM (
                SELECT ${columns} FROM messages
                WHERE tenant_id = ${tenantId} AND conversation_id = ${conversationId} ${upper}
                ORDER BY seq DESC LIMIT ${limit}
              ) latest ORDER BY seq`
          : yield* sql<MessageRow>`
              SELECT ${columns} FROM messages
              WHERE tenant_id = ${tenantId} AND conversation_id = ${conversationId} ${lower} ${upper}
              ORDER BY seq LIMIT ${limit}`
      const loaded = yield* loadStatus(sql, tenantId, rows)
      return yield* decodeRows("MessageStore.list", () => decodeMessages(loaded))
    }).pipe(unavailable("MessageStore.list"), Effect.withSpan("MessageStore.list"))

  const deliveries: Service["deliveries"] = (tenantId, messageId) =>
    Effect.flatMap(deliveryRows(sql, tenantId, [messageId]), (rows) =>
      decodeRows("MessageStore.deliveries", () => rows.map(toDelivery)),
    ).pipe(unavailable("MessageStore.deliveries"), Effect.withSpan("MessageStore.deliveries"))

  const history: Service["history"] = (tenantId, messageId) =>
    Effect.gen(function* () {
      // The first entry is the creation itself (sent, at the message's time); the applied transitions follow.
      const rows = yield* sql<TransitionRow>`
        SELECT id AS message_id, 'sent' AS status, NULL AS user_id, NULL AS channel, created_at AS at,
               NULL AS detail, 0 AS n
        FROM messages WHERE tenant_id = ${tenantId} AND id = ${messageId}
        UNION ALL
        SELECT message_id, status, user_id, channel, at, detail, id AS n
        FROM status_transitions WHERE tenant_id = ${tenantId} AND message_id = ${messageId}
        ORDER BY n`
      return yield* decodeRows("MessageStore.history", () =>
        rows.map((row) =>
          decodeTransition({
            messageId: row.message_id,
            status: row.status,
            ...(row.user_id === null ? {} : { userId: row.user_id }),
            ...(row.channel === null ? {} : { channel: row.channel }),
            at: millis(row.at),
            ...(row.detail === null ? {} : { detail: row.detail }),
          }),
        ),
      )
    }).pipe(unavailable("MessageStore.history"), Effect.withSpan("MessageStore.history"))

  return MessageStore.MessageStore.of({ get, list, deliveries, history })
})

export const layer: Layer.Layer<MessageStore.MessageStore, never, PgClient.PgClient> = Layer.effect(
  MessageStore.MessageStore,
  make,
)

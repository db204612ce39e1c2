import type { Member, Message } from "@chat4all/domain"
import type { SqlError } from "@effect/sql/SqlError"
import type { PgClient } from "@effect/sql-pg"
import { Effect } from "effect"
import {
  type DeliveryRow,
  deliveryColumns,
  type MemberRow,
  type MessageRow,
  memberColumns,
  toDelivery,
  toMember,
  withStatus,
} from "./rows.js"

/** The member rows of some conversations of a tenant, each list in `ord` order. */
export const memberRows = (
  sql: PgClient.PgClient,
  tenantId: string,
  conversationIds: ReadonlyArray<string>,
): Effect.Effect<Map<string, Array<MemberRow>>, SqlError> =>
  conversationIds.length === 0
    ? Effect.succeed(new Map())
    : Effect.map(
        sql<MemberRow>`
          SELECT ${sql.literal(memberColumns)} FROM members
          WHERE tenant_id = ${tenantId} AND conversation_id = ANY(${conversationIds}::text[])
          ORDER BY conversation_id, ord`,
        (rows) => {
          const byConversation = new Map<string, Array<MemberRow>>()
          for (const row of rows) {
            const list = byConversation.get(row.conversation_id)
            if (list === undefined) byConversation.set(row.conversation_id, [row])
            else list.push(row)
          }
          return byConversation
        },
      )

/** The connector delivery records of some messages of a tenant. */
export const deliveryRows = (
  sql: PgClient.PgClient,
  tenantId: string,
  messageIds: ReadonlyArray<string>,
): Effect.Effect<ReadonlyArray<DeliveryRow>, SqlError> =>
  messageIds.length === 0
    ? Effect.succeed([])
    : sql<DeliveryRow>`
        SELECT ${sql.literal(deliveryColumns)} FROM message_deliveries
        WHERE tenant_id = ${tenantId} AND message_id = ANY(${messageIds}::text[])
        ORDER BY message_id, user_id, channel`

/** Message rows and what their aggregate status derives from. */
export interface LoadedMessages {
  readonly rows: ReadonlyArray<MessageRow>
  readonly members: ReadonlyMap<string, ReadonlyArray<MemberRow>>
  readonly deliveries: ReadonlyArray<DeliveryRow>
}

/** Loads the members and delivery records the status of these message rows derives from. */
export const loadStatus = (
  sql: PgClient.PgClient,
  tenantId: string,
  rows: ReadonlyArray<MessageRow>,
): Effect.Effect<LoadedMessages, SqlError> =>
  rows.length === 0
    ? Effect.succeed({ rows, members: new Map(), deliveries: [] })
    : Effect.map(
        Effect.all([
          memberRows(sql, tenantId, [...new Set(rows.map((r) => r.conversation_id))]),
          deliveryRows(
            sql,
            tenantId,
            rows.map((r) => r.id),
          ),
        ]),
        ([members, deliveries]) => ({ rows, members, deliveries }),
      )

/** The messages with their aggregate status as of the load. */
export const decodeMessages = (loaded: LoadedMessages): ReadonlyArray<Message.Message> => {
  // A commit of new sends finds no earlier message for its keys: nothing to decode, members included.
  if (loaded.rows.length === 0) return []
  const members = new Map<string, ReadonlyArray<Member.Member>>()
  for (const [conversationId, rows] of loaded.members) members.set(conversationId, rows.map(toMember))
  return withStatus(loaded.rows, members, loaded.deliveries.map(toDelivery))
}

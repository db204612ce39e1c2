import { Event } from "@chat4all/domain"
import type * as Statement from "@effect/sql/Statement"
import type { PgClient } from "@effect/sql-pg"
import { Schema } from "effect"
import { type MessageRow, messageColumns, millis } from "./rows.js"

/** An event log row joined with its message (for message.created, whose payload is the message row). */
export interface EventRow {
  readonly tenant_id: string
  readonly position: string | number
  readonly id: string
  readonly conversation_id: string
  readonly type: string
  readonly at: string | number
  readonly data: unknown
  /** The message row as JSON, for message.created. */
  readonly message: MessageRow | null
}

/** The columns of `events e` and its message `m` as `message`, for a query that joins the two. */
export const eventSelect = `e.tenant_id, e.position, e.id, e.conversation_id, e.type, e.at, e.data,
  CASE WHEN e.message_id IS NULL THEN NULL ELSE (
    SELECT row_to_json(m) FROM (
      SELECT ${messageColumns} FROM messages
      WHERE messages.tenant_id = e.tenant_id AND messages.id = e.message_id
    ) m
  ) END AS message`

const encodeEvent = Schema.encodeSync(Event.Event)
const decodeEvent = Schema.decodeUnknownSync(Event.Event)

/** The payload stored for an event: none for message.created (the message row is), the data otherwise. */
const storedData = (event: Event.Event): unknown =>
  event.type === "message.created" ? null : encodeEvent(event).data

/**
 * The statement that appends events to the tenant's log and the outbox, in the order given. It takes the
 * tenant's head row, so it goes last in its transaction, sent with the COMMIT (see `transaction`).
 */
export const appendStatement = (
  sql: PgClient.PgClient,
  tenantId: string,
  events: ReadonlyArray<Event.Event>,
): Statement.Statement<unknown> | undefined => {
  if (events.length === 0) return undefined
  // One JSON array of rows, in order (`ord`): see `c4a_insert_messages` for why JSON.
  const rows = JSON.stringify(
    events.map((event, i) => ({
      ord: i + 1,
      id: event.id,
      conversation_id: event.conversationId,
      type: event.type,
      at: event.at,
      subject_id: event.type === "member.added" || event.type === "member.removed" ? event.data.userId : null,
      message_id: event.type === "message.created" ? event.data.message.id : null,
      data: storedData(event),
    })),
  )
  // `c4a_append_events` (see commitFunctions) takes the tenant's head row: the last lock a commit takes,
  // held for this statement and the COMMIT sent with it, nothing else.
  return sql`SELECT c4a_append_events(${tenantId}, ${rows}::jsonb)`
}

/**
 * An event from its row, at its position in the tenant's log: message.created gets its message back with
 * the status it was created with.
 */
export const toEvent = (row: EventRow): Event.Event => {
  const envelope = {
    id: row.id,
    tenantId: row.tenant_id,
    conversationId: row.conversation_id,
    type: row.type,
    at: millis(row.at),
    // Events read back carry their place in the tenant's log (the realtime edge resumes and reorders by it).
    position: Number(row.position),
  }
  if (row.type !== "message.created") return decodeEvent({ ...envelope, data: row.data })
  const m = row.message
  if (m === null) throw new Error(`event ${row.id} at position ${row.position}: its message row is missing`)
  return decodeEvent({
    ...envelope,
    data: {
      message: {
        id: m.id,
        tenantId: m.tenant_id,
        conversationId: m.conversation_id,
        seq: m.seq,
        senderId: m.sender_id,
        clientMessageId: m.client_message_id,
        content: m.content,
        ...(m.reply_to === null ? {} : { replyTo: m.reply_to }),
        channels: m.channels,
        metadata: m.metadata,
        createdAt: millis(m.created_at),
        status: "sent",
      },
    },
  })
}

import {
  ChannelIdentity,
  Conversation,
  Delivery,
  Errors,
  type Ids,
  Member,
  Message,
  MessageStatus,
  Trusted,
} from "@chat4all/domain"
import { Effect, Either, Schema } from "effect"

/**
 * Rows as node-postgres hands them over, and their decoding into domain records. `bigint` columns arrive
 * as strings (node-postgres does not narrow int8 to a number), epoch milliseconds fit a double exactly.
 */

export const millis = (value: unknown): number => (typeof value === "number" ? value : Number(value))

export interface ConversationRow {
  readonly id: string
  readonly tenant_id: string
  readonly type: string
  readonly title: string | null
  readonly metadata: unknown
  readonly created_at: string | number
  readonly updated_at: string | number
  readonly last_seq: number
}

export interface MemberRow {
  readonly conversation_id: string
  readonly user_id: string
  readonly role: string
  readonly joined_at: string | number
  readonly read_seq: number
  readonly delivered_seq: number
  readonly ord: number
}

export interface MessageRow {
  readonly tenant_id: string
  readonly conversation_id: string
  readonly seq: number
  readonly id: string
  readonly sender_id: string
  readonly client_message_id: string
  readonly content: unknown
  readonly reply_to: string | null
  readonly channels: unknown
  readonly metadata: unknown
  readonly created_at: string | number
}

export interface DeliveryRow {
  readonly message_id: string
  readonly user_id: string
  readonly channel: string
  readonly status: string
  readonly updated_at: string | number
}

export interface IdentityRow {
  readonly tenant_id: string
  readonly user_id: string
  readonly channel: string
  readonly address: string
  readonly display_name: string | null
  readonly updated_at: string | number
}

export const conversationColumns = "tenant_id, id, type, title, metadata, created_at, updated_at, last_seq"
export const memberColumns = "conversation_id, user_id, role, joined_at, read_seq, delivered_seq, ord"
export const messageColumns =
  "tenant_id, conversation_id, seq, id, sender_id, client_message_id, content, reply_to, channels, metadata, created_at"
export const deliveryColumns = "message_id, user_id, channel, status, updated_at"

/**
 * Conversation and member rows are checked against the plain fields and then built trusted: decoding into
 * the classes themselves (the conversation, then each member) costs several times as much, on every commit.
 */
const decodeConversationFields = Schema.decodeUnknownSync(
  Schema.Struct({
    ...Conversation.Conversation.fields,
    members: Schema.Array(Schema.Struct(Member.Member.fields)),
  }),
)
const decodeConversation = (input: unknown): Conversation.Conversation => {
  const fields = decodeConversationFields(input)
  return Trusted.trusted(Conversation.Conversation, {
    ...fields,
    members: fields.members.map((member) => Trusted.trusted(Member.Member, member)),
  })
}
const decodeMemberFields = Schema.decodeUnknownSync(Schema.Struct(Member.Member.fields))
const decodeMember = (input: unknown): Member.Member =>
  Trusted.trusted(Member.Member, decodeMemberFields(input))
const decodeMessage = Schema.decodeUnknownSync(Message.Message)
const decodeDelivery = Schema.decodeUnknownSync(Delivery.DeliveryRecord)
const decodeIdentity = Schema.decodeUnknownSync(ChannelIdentity.ChannelIdentity)

const memberFields = (row: MemberRow) => ({
  userId: row.user_id,
  role: row.role,
  joinedAt: millis(row.joined_at),
  readSeq: row.read_seq,
  deliveredSeq: row.delivered_seq,
})

export const toMember = (row: MemberRow): Member.Member => decodeMember(memberFields(row))

/** A conversation from its row and its member rows, already in `ord` order. */
export const toConversation = (row: ConversationRow, members: ReadonlyArray<MemberRow>) =>
  decodeConversation({
    id: row.id,
    tenantId: row.tenant_id,
    type: row.type,
    ...(row.title === null ? {} : { title: row.title }),
    metadata: row.metadata,
    members: members.map(memberFields),
    createdAt: millis(row.created_at),
    updatedAt: millis(row.updated_at),
    lastSeq: row.last_seq,
  })

/** A message as stored, with the status given (`sent` as created, or the aggregate as of now). */
export const toMessage = (row: MessageRow, status: Delivery.DeliveryStatus): Message.Message =>
  decodeMessage({
    id: row.id,
    tenantId: row.tenant_id,
    conversationId: row.conversation_id,
    seq: row.seq,
    senderId: row.sender_id,
    clientMessageId: row.client_message_id,
    content: row.content,
    ...(row.reply_to === null ? {} : { replyTo: row.reply_to }),
    channels: row.channels,
    metadata: row.metadata,
    createdAt: millis(row.created_at),
    status,
  })

export const toDelivery = (row: DeliveryRow): Delivery.DeliveryRecord =>
  decodeDelivery({
    messageId: row.message_id,
    userId: row.user_id,
    channel: row.channel,
    status: row.status,
    updatedAt: millis(row.updated_at),
  })

export const toIdentity = (row: IdentityRow): ChannelIdentity.ChannelIdentity =>
  decodeIdentity({
    tenantId: row.tenant_id,
    userId: row.user_id,
    channel: row.channel,
    address: row.address,
    ...(row.display_name === null ? {} : { displayName: row.display_name }),
    updatedAt: millis(row.updated_at),
  })

/** Messages with their aggregate status: the conversation's members and each message's delivery records. */
export const withStatus = (
  rows: ReadonlyArray<MessageRow>,
  members: ReadonlyMap<string, ReadonlyArray<Member.Member>>,
  deliveries: ReadonlyArray<Delivery.DeliveryRecord>,
): ReadonlyArray<Message.Message> => {
  const byMessage = new Map<string, Array<Delivery.DeliveryRecord>>()
  for (const record of deliveries) {
    const list = byMessage.get(record.messageId)
    if (list === undefined) byMessage.set(record.messageId, [record])
    else list.push(record)
  }
  return rows.map((row) =>
    toMessage(
      row,
      MessageStatus.aggregate(
        { seq: row.seq, senderId: row.sender_id as Ids.UserId },
        members.get(row.conversation_id) ?? [],
        byMessage.get(row.id) ?? [],
      ),
    ),
  )
}

/**
 * Decodes stored rows: a row that does not decode is a store that answered something unexpected (a
 * hand-edited row, a newer schema), reported as StoreUnavailable rather than a defect.
 */
export const decodeRowsEither = <A>(
  operation: string,
  decode: () => A,
): Either.Either<A, Errors.StoreUnavailable> =>
  Either.try({
    try: decode,
    catch: (cause) =>
      new Errors.StoreUnavailable({
        operation,
        cause: new Error(`${operation}: a stored row does not decode: ${String(cause)}`, { cause }),
      }),
  })

/** `decodeRowsEither` inside an Effect. */
export const decodeRows = <A>(
  operation: string,
  decode: () => A,
): Effect.Effect<A, Errors.StoreUnavailable> => Effect.suspend(() => decodeRowsEither(operation, decode))

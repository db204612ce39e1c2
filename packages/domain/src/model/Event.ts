import { Schema } from "effect"
import { Conversation } from "./Conversation.js"
import { ChannelName, DeliveryStatus } from "./Delivery.js"
import { ConversationId, EventId, MessageId, TenantId, UserId } from "./Ids.js"
import { MemberRole } from "./Member.js"
import { Message } from "./Message.js"
import { trusted } from "./Trusted.js"

const envelope = {
  id: EventId,
  tenantId: TenantId,
  conversationId: ConversationId,
  at: Schema.Number,
  /**
   * Where the event sits in its tenant's EventLog: 1, 2, 3, ... without gaps, in commit order. Storage sets
   * it on the events it reads back (EventLog, Outbox); events fresh from the decider have none. An EventLog
   * cursor is a position in decimal (the reader has seen everything up to it), so the realtime edge can
   * give a live event its exact resume cursor and put events that arrive out of order back in order.
   */
  position: Schema.optional(Schema.Int.pipe(Schema.positive())),
}

export class MessageCreated extends Schema.Class<MessageCreated>("MessageCreated")({
  ...envelope,
  type: Schema.Literal("message.created"),
  data: Schema.Struct({ message: Message }),
}) {}

export class MessageStatusChanged extends Schema.Class<MessageStatusChanged>("MessageStatusChanged")({
  ...envelope,
  type: Schema.Literal("message.status"),
  data: Schema.Struct({
    messageId: MessageId,
    seq: Schema.Int,
    status: DeliveryStatus,
    userId: Schema.optional(UserId),
    channel: Schema.optional(ChannelName),
    detail: Schema.optional(Schema.String),
  }),
}) {}

export class ConversationCreated extends Schema.Class<ConversationCreated>("ConversationCreated")({
  ...envelope,
  type: Schema.Literal("conversation.created"),
  data: Schema.Struct({ conversation: Conversation }),
}) {}

export class ConversationUpdated extends Schema.Class<ConversationUpdated>("ConversationUpdated")({
  ...envelope,
  type: Schema.Literal("conversation.updated"),
  data: Schema.Struct({ conversation: Conversation }),
}) {}

export class MemberAdded extends Schema.Class<MemberAdded>("MemberAdded")({
  ...envelope,
  type: Schema.Literal("member.added"),
  data: Schema.Struct({ userId: UserId, role: MemberRole }),
}) {}

export class MemberRemoved extends Schema.Class<MemberRemoved>("MemberRemoved")({
  ...envelope,
  type: Schema.Literal("member.removed"),
  data: Schema.Struct({ userId: UserId }),
}) {}

export class ReceiptDelivered extends Schema.Class<ReceiptDelivered>("ReceiptDelivered")({
  ...envelope,
  type: Schema.Literal("receipt.delivered"),
  data: Schema.Struct({ userId: UserId, seq: Schema.Int }),
}) {}

export class ReceiptRead extends Schema.Class<ReceiptRead>("ReceiptRead")({
  ...envelope,
  type: Schema.Literal("receipt.read"),
  data: Schema.Struct({ userId: UserId, seq: Schema.Int }),
}) {}

/** The envelope that goes out on WebSocket, sync and webhooks alike (API.md). */
export const Event = Schema.Union(
  MessageCreated,
  MessageStatusChanged,
  ConversationCreated,
  ConversationUpdated,
  MemberAdded,
  MemberRemoved,
  ReceiptDelivered,
  ReceiptRead,
)
export type Event = typeof Event.Type
export type EventType = Event["type"]

/** The same event at a position of its tenant's log (see `position` on the envelope). */
export const withPosition = <E extends Event>(event: E, position: number): E => {
  const make = event.constructor as new (props: E) => E
  // The event was valid (every field, defaults included, is already on it) and a position is a positive
  // integer by construction: built as `Trusted` builds, skipping the constructor's copies.
  return trusted(make, { ...event, position })
}

/** The EventLog cursor just after an event that has a position. */
export const cursorAfter = (event: Event): string | undefined =>
  event.position === undefined ? undefined : String(event.position)

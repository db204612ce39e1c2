import type { Event as DomainEvent } from "@chat4all/domain"
import { Schema } from "effect"
import { DeliveryStatus, Iso, iso } from "./Common.js"
import { Conversation, fromConversation } from "./Conversation.js"
import { fromMessage, Message } from "./Message.js"

const envelope = <T extends string, D extends Schema.Struct.Fields>(type: T, data: D) =>
  Schema.Struct({
    id: Schema.String.annotations({ description: "Unique; dedup by it (also the webhook-id)" }),
    type: Schema.Literal(type),
    tenantId: Schema.String,
    conversationId: Schema.String,
    at: Iso,
    data: Schema.Struct(data),
  }).annotations({ identifier: `Event.${type}` })

/** The envelope that goes out on sync (and WebSocket and webhooks): `{ id, type, tenantId, conversationId, at, data }`. */
export const Event = Schema.Union(
  envelope("message.created", { message: Message }),
  envelope("message.status", {
    messageId: Schema.String,
    seq: Schema.Int,
    status: DeliveryStatus,
    userId: Schema.optional(Schema.String),
    channel: Schema.optional(Schema.String),
    detail: Schema.optional(Schema.String),
  }),
  envelope("conversation.created", { conversation: Conversation }),
  envelope("conversation.updated", { conversation: Conversation }),
  envelope("member.added", { userId: Schema.String, role: Schema.optional(Schema.String) }),
  envelope("member.removed", { userId: Schema.String }),
  envelope("receipt.delivered", { userId: Schema.String, seq: Schema.Int }),
  envelope("receipt.read", { userId: Schema.String, seq: Schema.Int }),
).annotations({ identifier: "Event" })
export type Event = typeof Event.Type

export const fromEvent = (event: DomainEvent.Event): Event => {
  // Key order is part of the contract: the same bytes go out on sync, WebSocket and webhooks (signed).
  // `type` is set here for its place after `id`; each case below sets it again for the type checker.
  const base = {
    id: event.id,
    type: event.type,
    tenantId: event.tenantId,
    conversationId: event.conversationId,
    at: iso(event.at),
  }
  switch (event.type) {
    case "message.created":
      return { ...base, type: event.type, data: { message: fromMessage(event.data.message) } }
    case "message.status": {
      const { messageId, seq, status, userId, channel, detail } = event.data
      return {
        ...base,
        type: event.type,
        data: {
          messageId,
          seq,
          status,
          ...(userId === undefined ? {} : { userId }),
          ...(channel === undefined ? {} : { channel }),
          ...(detail === undefined ? {} : { detail }),
        },
      }
    }
    case "conversation.created":
    case "conversation.updated":
      return { ...base, type: event.type, data: { conversation: fromConversation(event.data.conversation) } }
    case "member.added":
      return { ...base, type: event.type, data: { userId: event.data.userId, role: event.data.role } }
    case "member.removed":
      return { ...base, type: event.type, data: { userId: event.data.userId } }
    case "receipt.delivered":
    case "receipt.read":
      return { ...base, type: event.type, data: { userId: event.data.userId, seq: event.data.seq } }
  }
}

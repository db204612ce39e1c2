import { Schema } from "effect"
import { Content } from "./Content.js"
import { Metadata } from "./Conversation.js"
import { ChannelName, DeliveryStatus } from "./Delivery.js"
import { ClientMessageId, ConversationId, MessageId, TenantId, UserId } from "./Ids.js"

/** `["all"]` (every channel identity of each recipient) or a list of channel names. */
export const Channels = Schema.Array(Schema.Union(Schema.Literal("all"), ChannelName)).pipe(
  Schema.minItems(1),
  Schema.maxItems(16),
)
export type Channels = typeof Channels.Type

/**
 * A committed message. `seq` is gapless per conversation; `status` is the aggregate for the sender
 * (the lowest over the other members), derived on read from horizons and channel deliveries.
 */
export class Message extends Schema.Class<Message>("Message")({
  id: MessageId,
  tenantId: TenantId,
  conversationId: ConversationId,
  seq: Schema.Int.pipe(Schema.positive()),
  senderId: UserId,
  clientMessageId: ClientMessageId,
  content: Content,
  replyTo: Schema.optional(MessageId),
  channels: Channels,
  metadata: Metadata,
  createdAt: Schema.Number,
  status: DeliveryStatus,
}) {}

/** What a sender asks for; everything the server adds (id, seq, time, status) is missing. */
export class MessageDraft extends Schema.Class<MessageDraft>("MessageDraft")({
  senderId: UserId,
  clientMessageId: ClientMessageId,
  content: Content,
  replyTo: Schema.optional(MessageId),
  channels: Channels,
  metadata: Metadata,
}) {}

const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

/**
 * The idempotency fingerprint of a send: its payload in canonical JSON (keys sorted, undefined dropped).
 * A retry with the same fingerprint is a replay; a different one is a conflict.
 */
export const fingerprint = (payload: {
  readonly content: Content
  readonly replyTo?: MessageId | undefined
  readonly channels: Channels
  readonly metadata: Metadata
}): string =>
  canonical({
    content: { ...payload.content },
    replyTo: payload.replyTo,
    channels: payload.channels,
    metadata: payload.metadata,
  })

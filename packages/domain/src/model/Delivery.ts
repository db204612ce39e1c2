import { Schema } from "effect"
import { MessageId, UserId } from "./Ids.js"

export const DeliveryStatus = Schema.Literal("pending", "sent", "delivered", "read", "failed")
export type DeliveryStatus = typeof DeliveryStatus.Type

/** The channel of app users (WebSocket, HTTP); connectors name their own (`whatsapp`, ...). */
export const appChannel = "app"

export const ChannelName = Schema.String.pipe(Schema.pattern(/^[a-z0-9_-]{1,32}$/))
export type ChannelName = typeof ChannelName.Type

/** The state of one message for one recipient on one channel. */
export class DeliveryRecord extends Schema.Class<DeliveryRecord>("DeliveryRecord")({
  messageId: MessageId,
  userId: UserId,
  channel: ChannelName,
  status: DeliveryStatus,
  updatedAt: Schema.Number,
}) {}

/** One applied transition, kept in the status history. */
export class StatusTransition extends Schema.Class<StatusTransition>("StatusTransition")({
  messageId: MessageId,
  status: DeliveryStatus,
  userId: Schema.optional(UserId),
  channel: Schema.optional(ChannelName),
  at: Schema.Number,
  detail: Schema.optional(Schema.String),
}) {}

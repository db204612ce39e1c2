import type { Delivery, MessageStatus } from "@chat4all/domain"
import { Schema } from "effect"
import { DeliveryStatus, Iso, iso } from "./Common.js"

export const Recipient = Schema.Struct({
  userId: Schema.String,
  channel: Schema.String.annotations({ description: "`app` for WebSocket/HTTP users, else the connector" }),
  status: DeliveryStatus,
  updatedAt: Schema.NullOr(Iso).annotations({
    description: "null for the app channel, whose status derives from the member's receipts",
  }),
}).annotations({ identifier: "Recipient" })

export const MessageStatusView = Schema.Struct({
  messageId: Schema.String,
  status: DeliveryStatus,
  recipients: Schema.Array(Recipient),
}).annotations({ identifier: "MessageStatus" })
export type MessageStatusView = typeof MessageStatusView.Type

export const Transition = Schema.Struct({
  status: DeliveryStatus,
  userId: Schema.optional(Schema.String),
  channel: Schema.optional(Schema.String),
  at: Iso,
  detail: Schema.optional(Schema.String),
}).annotations({ identifier: "StatusTransition" })
export type Transition = typeof Transition.Type

export const StatusHistory = Schema.Struct({ items: Schema.Array(Transition) }).annotations({
  identifier: "StatusHistory",
})

export const fromStatus = (view: {
  readonly messageId: string
  readonly status: Delivery.DeliveryStatus
  readonly recipients: ReadonlyArray<MessageStatus.RecipientStatus>
}): MessageStatusView => ({
  messageId: view.messageId,
  status: view.status,
  recipients: view.recipients.map((r) => ({
    userId: r.userId,
    channel: r.channel,
    status: r.status,
    updatedAt: r.updatedAt === undefined ? null : iso(r.updatedAt),
  })),
})

export const fromTransition = (t: Delivery.StatusTransition): Transition => ({
  status: t.status,
  ...(t.userId === undefined ? {} : { userId: t.userId }),
  ...(t.channel === undefined ? {} : { channel: t.channel }),
  at: iso(t.at),
  ...(t.detail === undefined ? {} : { detail: t.detail }),
})

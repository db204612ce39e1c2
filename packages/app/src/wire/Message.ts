import type { Content as DomainContent, Message as DomainMessage } from "@chat4all/domain"
import { Schema } from "effect"
import { DeliveryStatus, Iso, iso, Metadata } from "./Common.js"

export const Content = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
  Schema.Struct({
    type: Schema.Literal("file"),
    fileId: Schema.String,
    caption: Schema.optional(Schema.String),
  }),
  Schema.Struct({ type: Schema.Literal("system"), text: Schema.String }),
).annotations({ identifier: "Content" })
export type Content = typeof Content.Type

export const Message = Schema.Struct({
  id: Schema.String.annotations({ description: "`<13-digit ms>-<uuid v4>`, made by the server" }),
  conversationId: Schema.String,
  seq: Schema.Int.annotations({ description: "Gapless per conversation, from 1" }),
  senderId: Schema.String,
  clientMessageId: Schema.String,
  content: Content,
  replyTo: Schema.optional(Schema.String),
  channels: Schema.Array(Schema.String),
  metadata: Metadata,
  createdAt: Iso,
  status: DeliveryStatus.annotations({
    description: "For the sender: the lowest status over the other members",
  }),
}).annotations({ identifier: "Message" })
export type Message = typeof Message.Type

export const fromContent = (content: DomainContent.Content): Content => {
  switch (content.type) {
    case "text":
      return { type: "text", text: content.text }
    case "system":
      return { type: "system", text: content.text }
    case "file":
      return {
        type: "file",
        fileId: content.fileId,
        ...(content.caption === undefined ? {} : { caption: content.caption }),
      }
  }
}

export const fromMessage = (message: DomainMessage.Message): Message => ({
  id: message.id,
  conversationId: message.conversationId,
  seq: message.seq,
  senderId: message.senderId,
  clientMessageId: message.clientMessageId,
  content: fromContent(message.content),
  ...(message.replyTo === undefined ? {} : { replyTo: message.replyTo }),
  channels: message.channels,
  metadata: message.metadata,
  createdAt: iso(message.createdAt),
  status: message.status,
})

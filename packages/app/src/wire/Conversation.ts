import type {
  ConversationStore,
  Conversation as DomainConversation,
  Member as DomainMember,
} from "@chat4all/domain"
import { Schema } from "effect"
import { Iso, iso, Metadata } from "./Common.js"
import { fromMessage, Message } from "./Message.js"

export const Member = Schema.Struct({
  userId: Schema.String,
  role: Schema.Literal("owner", "admin", "member"),
  joinedAt: Iso,
  readSeq: Schema.Int.annotations({ description: "Every message up to this seq was read" }),
  deliveredSeq: Schema.Int.annotations({ description: "Every message up to this seq reached a device" }),
}).annotations({ identifier: "Member" })
export type Member = typeof Member.Type

export const Conversation = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("direct", "group"),
  title: Schema.optional(Schema.String),
  metadata: Metadata,
  members: Schema.Array(Member),
  createdAt: Iso,
  updatedAt: Iso,
  lastSeq: Schema.Int,
  lastMessage: Schema.optional(Message),
  unreadCount: Schema.optional(
    Schema.Int.annotations({ description: "Messages after the caller's read horizon, not their own" }),
  ),
}).annotations({ identifier: "Conversation" })
export type Conversation = typeof Conversation.Type

export const fromMember = (member: DomainMember.Member): Member => ({
  userId: member.userId,
  role: member.role,
  joinedAt: iso(member.joinedAt),
  readSeq: member.readSeq,
  deliveredSeq: member.deliveredSeq,
})

export const fromConversation = (conversation: DomainConversation.Conversation): Conversation => ({
  id: conversation.id,
  type: conversation.type,
  ...(conversation.title === undefined ? {} : { title: conversation.title }),
  metadata: conversation.metadata,
  members: conversation.members.map(fromMember),
  createdAt: iso(conversation.createdAt),
  updatedAt: iso(conversation.updatedAt),
  lastSeq: conversation.lastSeq,
})

/** A row of the caller's conversation list: the conversation with its last message and unread count. */
export const fromSummary = (summary: ConversationStore.ConversationSummary): Conversation => ({
  ...fromConversation(summary.conversation),
  ...(summary.lastMessage === undefined ? {} : { lastMessage: fromMessage(summary.lastMessage) }),
  unreadCount: summary.unreadCount,
})

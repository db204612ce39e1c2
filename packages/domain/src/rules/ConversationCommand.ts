import { Data } from "effect"
import type { ChannelName, DeliveryRecord, DeliveryStatus } from "../model/Delivery.js"
import type { EventId, MessageId, UserId } from "../model/Ids.js"
import type { Member, MemberRole } from "../model/Member.js"
import type { Message, MessageDraft } from "../model/Message.js"
import type { ReceiptKind } from "./Horizons.js"

/**
 * Commands to one conversation. Each is stamped before it reaches the decider with everything that
 * is not pure (the ids it may use and the time), so that deciding stays a pure function; a command
 * that turns out to be a replay or a no-op simply does not use its stamp.
 */
export interface Stamp {
  readonly eventId: EventId
  readonly at: number
}

export type ConversationCommand = Data.TaggedEnum<{
  Send: { readonly draft: MessageDraft; readonly messageId: MessageId; readonly stamp: Stamp }
  Receipt: {
    readonly userId: UserId
    readonly kind: ReceiptKind
    readonly seq: number
    readonly stamp: Stamp
  }
  DeliveryUpdate: {
    readonly messageId: MessageId
    readonly userId: UserId
    readonly channel: ChannelName
    readonly status: DeliveryStatus
    readonly detail: string | undefined
    readonly stamp: Stamp
  }
  AddMember: { readonly userId: UserId; readonly role: MemberRole; readonly stamp: Stamp }
  RemoveMember: { readonly userId: UserId; readonly stamp: Stamp }
}>
export const ConversationCommand = Data.taggedEnum<ConversationCommand>()

/** What each command answers with. */
export type CommandResult = Data.TaggedEnum<{
  Sent: { readonly message: Message; readonly replayed: boolean }
  ReceiptRecorded: { readonly member: Member; readonly changed: boolean }
  DeliveryRecorded: { readonly record: DeliveryRecord; readonly applied: boolean }
  MemberAdded: { readonly member: Member; readonly added: boolean }
  MemberRemoved: { readonly userId: UserId; readonly removed: boolean }
}>
export const CommandResult = Data.taggedEnum<CommandResult>()

import { Effect } from "effect"
import { type Content, TextContent } from "../model/Content.js"
import { Conversation, type ConversationType } from "../model/Conversation.js"
import type { ChannelName, DeliveryStatus } from "../model/Delivery.js"
import { ConversationCreated } from "../model/Event.js"
import type { ClientMessageId, MessageId, TenantId, UserId } from "../model/Ids.js"
import { Member } from "../model/Member.js"
import { MessageDraft } from "../model/Message.js"
import { now } from "../ports/Clock.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { ConversationCommand } from "../rules/ConversationCommand.js"
import type { ReceiptKind } from "../rules/Horizons.js"
import { stamp } from "../usecases/Stamp.js"

let tenants = 0

/** A tenant no other test uses, so suites can share one store (and one database schema). */
export const freshTenant = (): TenantId =>
  `t${Date.now().toString(36)}-${(++tenants).toString(36)}-${Math.random().toString(36).slice(2, 8)}` as TenantId

export const user = (name: string) => name as UserId
export const cmid = (name: string) => name as ClientMessageId
export const text = (body: string): Content => new TextContent({ type: "text", text: body })

/** A conversation and its `conversation.created` event, ready for `ConversationStore.create`. */
export const newConversation = (
  tenantId: TenantId,
  type: ConversationType,
  members: ReadonlyArray<UserId>,
  options: { readonly title?: string } = {},
) =>
  Effect.gen(function* () {
    const ids = yield* IdGenerator
    const at = yield* now
    const conversation = new Conversation({
      id: yield* ids.conversationId,
      tenantId,
      type,
      ...options,
      metadata: { origin: "contract" },
      members: members.map(
        (userId, i) =>
          new Member({
            userId,
            role: i === 0 ? "owner" : "member",
            joinedAt: at,
            readSeq: 0,
            deliveredSeq: 0,
          }),
      ),
      createdAt: at,
      updatedAt: at,
      lastSeq: 0,
    })
    const event = new ConversationCreated({
      id: yield* ids.eventId,
      tenantId,
      conversationId: conversation.id,
      at,
      type: "conversation.created",
      data: { conversation },
    })
    return { conversation, event }
  })

export const send = (
  senderId: UserId,
  clientMessageId: string,
  content: Content | string,
  extra: { readonly replyTo?: MessageId; readonly channels?: ReadonlyArray<string> } = {},
) =>
  Effect.gen(function* () {
    const ids = yield* IdGenerator
    const draft = new MessageDraft({
      senderId,
      clientMessageId: cmid(clientMessageId),
      content: typeof content === "string" ? text(content) : content,
      ...(extra.replyTo === undefined ? {} : { replyTo: extra.replyTo }),
      channels: (extra.channels ?? ["all"]) as MessageDraft["channels"],
      metadata: {},
    })
    return ConversationCommand.Send({ draft, messageId: yield* ids.messageId, stamp: yield* stamp })
  })

export const receipt = (userId: UserId, kind: ReceiptKind, seq: number) =>
  Effect.map(stamp, (s) => ConversationCommand.Receipt({ userId, kind, seq, stamp: s }))

export const deliveryUpdate = (
  messageId: MessageId,
  userId: UserId,
  channel: string,
  status: DeliveryStatus,
  detail?: string,
) =>
  Effect.map(stamp, (s) =>
    ConversationCommand.DeliveryUpdate({
      messageId,
      userId,
      channel: channel as ChannelName,
      status,
      detail,
      stamp: s,
    }),
  )

export const addMember = (userId: UserId, role: Member["role"] = "member") =>
  Effect.map(stamp, (s) => ConversationCommand.AddMember({ userId, role, stamp: s }))

export const removeMember = (userId: UserId) =>
  Effect.map(stamp, (s) => ConversationCommand.RemoveMember({ userId, stamp: s }))

import { Effect, Option } from "effect"
import { ChannelIdentity } from "../model/ChannelIdentity.js"
import type { Content } from "../model/Content.js"
import type { Metadata } from "../model/Conversation.js"
import type { ChannelName, DeliveryStatus } from "../model/Delivery.js"
import type { ClientMessageId, ConversationId, MessageId, TenantId, UserId } from "../model/Ids.js"
import type { Message } from "../model/Message.js"
import { now } from "../ports/Clock.js"
import { ConversationStore } from "../ports/ConversationStore.js"
import { IdentityStore } from "../ports/IdentityStore.js"
import { MessageStore } from "../ports/MessageStore.js"
import { ProviderRefs } from "../ports/ProviderRefs.js"
import { Caller } from "./Caller.js"
import { createConversation } from "./Conversations.js"
import { applyDeliveryUpdate } from "./Deliveries.js"
import { sendMessage } from "./Messages.js"

/** A message a person sent to the tenant through a connector, verified by it. */
export interface InboundInput {
  /** The connector, which is also the channel of the sender's identity. */
  readonly connector: ChannelName
  readonly providerMessageId: string
  /** The sender's address in the connector's canonical form. */
  readonly from: string
  readonly senderName?: string | undefined
  readonly content: Content
  /** Kept with the message; it must be the same on a redelivery (it is part of the idempotency fingerprint). */
  readonly metadata: Metadata
  readonly replyToProviderMessageId?: string | undefined
}

export interface InboundOptions {
  /** The tenant's user the contact's direct conversation is with (the connector setting `inboxUserId`). */
  readonly inboxUserId: UserId
  /** The user id a new contact gets; the same sender must always get the same one (see `receiveInbound`). */
  readonly newContactId: UserId
  /** The message's idempotency key: the provider message id, or a digest of it when it is no valid id. */
  readonly clientMessageId: ClientMessageId
}

export type InboundResult =
  | {
      readonly _tag: "Created"
      readonly message: Message
      readonly contactId: UserId
      readonly conversationId: ConversationId
    }
  /** Seen before: a redelivered webhook, or two deliveries of one message racing. */
  | { readonly _tag: "Duplicate"; readonly messageId: MessageId }
  /** Not taken, and why (a retry cannot change it). */
  | { readonly _tag: "Ignored"; readonly reason: string }

/**
 * The message a reply answers, when the provider names one the engine knows (sent to the person, or
 * received from them) in a conversation the sender is a member of: the reply goes there.
 */
const replyTarget = (tenantId: TenantId, input: InboundInput, contactId: UserId) =>
  Effect.gen(function* () {
    if (input.replyToProviderMessageId === undefined) return undefined
    const refs = yield* ProviderRefs
    const ref = yield* refs.find(tenantId, input.connector, input.replyToProviderMessageId)
    if (Option.isNone(ref)) return undefined
    const messages = yield* MessageStore
    const original = yield* messages.get(tenantId, ref.value.messageId)
    if (Option.isNone(original)) return undefined
    const conversations = yield* ConversationStore
    const conversation = yield* conversations.get(tenantId, original.value.conversationId)
    return Option.isSome(conversation) && conversation.value.isMember(contactId) ? original.value : undefined
  })

/**
 * Turns a verified inbound provider message into a message of the engine, exactly once.
 *
 * The sender is the user whose identity on the channel has the address; a sender no one has is a new
 * contact, made with `newContactId` and that identity. A reply to a message the engine knows goes into
 * that message's conversation (when the sender is a member of it), as a reply to it; anything else goes
 * into the direct conversation between the contact and the tenant's inbox user (made on the first
 * message). It is sent by the contact with the provider's id as its `clientMessageId`.
 *
 * Exactly once: the provider reference (unique per tenant, connector and provider id) is recorded last,
 * and every step before it converges on a repeat: `newContactId` is derived from the address, the direct
 * conversation is unique per pair, and the send is idempotent by `clientMessageId`. So a redelivery finds
 * the reference and stops; one that comes after a crash midway redoes the steps to the same message; and
 * two racing deliveries end in one message.
 */
export const receiveInbound = (tenantId: TenantId, input: InboundInput, options: InboundOptions) =>
  Effect.gen(function* () {
    const refs = yield* ProviderRefs
    const seen = yield* refs.find(tenantId, input.connector, input.providerMessageId)
    if (Option.isSome(seen)) return { _tag: "Duplicate", messageId: seen.value.messageId } as InboundResult

    const identities = yield* IdentityStore
    const owner = yield* identities.findByAddress(tenantId, input.connector, input.from)
    const contactId = owner?.userId ?? options.newContactId
    if (contactId === options.inboxUserId)
      return {
        _tag: "Ignored",
        reason: `the sender ${input.from} is the inbox user ${options.inboxUserId} itself`,
      } as InboundResult
    if (owner === undefined)
      yield* identities.put(
        new ChannelIdentity({
          tenantId,
          userId: contactId,
          channel: input.connector,
          address: input.from,
          ...(input.senderName === undefined ? {} : { displayName: input.senderName.slice(0, 256) }),
          updatedAt: yield* now,
        }),
      )

    const target = yield* replyTarget(tenantId, input, contactId)
    let conversationId: ConversationId
    let replyTo: MessageId | undefined
    if (target !== undefined) {
      conversationId = target.conversationId
      replyTo = target.id
    } else {
      // A service of the tenant sets the conversation up, so neither member is its owner.
      const setup = new Caller({ tenantId, userId: options.inboxUserId, role: "service" })
      const { conversation } = yield* createConversation(setup, {
        type: "direct",
        members: [contactId, options.inboxUserId],
      })
      conversationId = conversation.id
    }

    const contact = new Caller({ tenantId, userId: contactId, role: "user" })
    const sent = yield* sendMessage(contact, conversationId, {
      clientMessageId: options.clientMessageId,
      content: input.content,
      replyTo,
      metadata: input.metadata,
    }).pipe(
      Effect.map((result) => ({ messageId: result.message.id, message: Option.some(result.message) })),
      // The same provider message sent before with a reply target that was not known then.
      Effect.catchTag("IdempotencyConflict", (conflict) =>
        Effect.succeed({ messageId: conflict.originalMessageId, message: Option.none<Message>() }),
      ),
    )
    const fresh = yield* refs.record({
      tenantId,
      connector: input.connector,
      providerMessageId: input.providerMessageId,
      direction: "inbound",
      messageId: sent.messageId,
      userId: contactId,
      channel: input.connector,
      createdAt: yield* now,
    })
    if (!fresh || Option.isNone(sent.message))
      return { _tag: "Duplicate", messageId: sent.messageId } as InboundResult
    return {
      _tag: "Created",
      message: sent.message.value,
      contactId,
      conversationId,
    } as InboundResult
  }).pipe(Effect.withSpan("Inbound.receiveInbound"))

/** A provider's status callback for a message the engine sent. */
export interface ProviderStatusInput {
  readonly connector: string
  readonly providerMessageId: string
  readonly status: Exclude<DeliveryStatus, "pending">
  readonly detail?: string | undefined
}

export type ProviderStatusResult =
  | { readonly _tag: "Applied"; readonly applied: boolean; readonly status: DeliveryStatus }
  /** No delivery of the engine has that provider id (sent by something else, or its record is gone). */
  | { readonly _tag: "Unknown" }

/**
 * Applies a provider's status callback to the delivery it names, through the decider: a status never
 * moves backwards, so a late `delivered` after `read` (or a repeat) changes nothing (`applied: false`)
 * and the history keeps only what was applied.
 */
export const applyProviderStatus = (tenantId: TenantId, input: ProviderStatusInput) =>
  Effect.gen(function* () {
    const refs = yield* ProviderRefs
    const ref = yield* refs.find(tenantId, input.connector, input.providerMessageId)
    if (Option.isNone(ref) || ref.value.direction !== "outbound")
      return { _tag: "Unknown" } as ProviderStatusResult
    return yield* applyDeliveryUpdate(tenantId, {
      messageId: ref.value.messageId,
      userId: ref.value.userId,
      channel: ref.value.channel,
      status: input.status,
      detail: input.detail,
    }).pipe(
      Effect.map(
        (result): ProviderStatusResult => ({
          _tag: "Applied",
          applied: result.applied,
          status: result.record.status,
        }),
      ),
      Effect.catchTags({
        MessageNotFound: () => Effect.succeed<ProviderStatusResult>({ _tag: "Unknown" }),
        ConversationNotFound: () => Effect.succeed<ProviderStatusResult>({ _tag: "Unknown" }),
      }),
    )
  }).pipe(Effect.withSpan("Inbound.applyProviderStatus"))

import { Either } from "effect"
import type { Conversation } from "../model/Conversation.js"
import { Conversation as ConversationClass } from "../model/Conversation.js"
import { appChannel, DeliveryRecord } from "../model/Delivery.js"
import type { CommandError } from "../model/Errors.js"
import { IdempotencyConflict, InvalidRequest, MessageNotFound, NotAMember } from "../model/Errors.js"
import type { Event } from "../model/Event.js"
import {
  MemberAdded,
  MemberRemoved,
  MessageCreated,
  MessageStatusChanged,
  ReceiptDelivered,
  ReceiptRead,
} from "../model/Event.js"
import type { ClientMessageId, MessageId, UserId } from "../model/Ids.js"
import { Member } from "../model/Member.js"
import { fingerprint, Message } from "../model/Message.js"
import { trusted } from "../model/Trusted.js"
import {
  type CommandResult,
  type ConversationCommand,
  CommandResult as Result,
} from "./ConversationCommand.js"
import * as DeliveryState from "./DeliveryState.js"
import { advanceHorizon } from "./Horizons.js"

/**
 * Schema classes validate on construction. Everything built below comes from values that were already
 * validated (a decoded command, a stored state), so the decider builds its objects trusted (see
 * `Trusted`): in effect 3.22 a class whose fields hold other classes recompiles its validator on every
 * `new`, which cost more than the rest of a send put together, and even with validation off the
 * constructor costs microseconds per object.
 */

/**
 * The slice of a conversation a batch of commands needs: the conversation with its members and
 * `lastSeq`, and only the messages and delivery records those commands touch. Stores load it (inside
 * their transaction), the decider decides, and stores persist the events.
 */
export interface ConversationState {
  readonly conversation: Conversation
  /** Messages by idempotency key (see `idempotencyKey`). */
  readonly byKey: ReadonlyMap<string, Message>
  readonly byId: ReadonlyMap<MessageId, Message>
  /** Delivery records by `deliveryKey`. */
  readonly deliveries: ReadonlyMap<string, DeliveryRecord>
}

export const idempotencyKey = (senderId: UserId, clientMessageId: ClientMessageId): string =>
  `${senderId}\u0000${clientMessageId}`

export const deliveryKey = (messageId: MessageId, userId: UserId, channel: string): string =>
  `${messageId}\u0000${userId}\u0000${channel}`

/** What a store must load for these commands. */
export interface Needs {
  readonly keys: ReadonlyArray<{ readonly senderId: UserId; readonly clientMessageId: ClientMessageId }>
  readonly messageIds: ReadonlyArray<MessageId>
  readonly deliveries: ReadonlyArray<{
    readonly messageId: MessageId
    readonly userId: UserId
    readonly channel: string
  }>
}

export const needs = (commands: ReadonlyArray<ConversationCommand>): Needs => {
  const keys: Array<Needs["keys"][number]> = []
  const messageIds: Array<MessageId> = []
  const deliveries: Array<Needs["deliveries"][number]> = []
  for (const c of commands) {
    if (c._tag === "Send") keys.push({ senderId: c.draft.senderId, clientMessageId: c.draft.clientMessageId })
    if (c._tag === "DeliveryUpdate") {
      messageIds.push(c.messageId)
      deliveries.push({ messageId: c.messageId, userId: c.userId, channel: c.channel })
    }
  }
  return { keys, messageIds, deliveries }
}

export const initialState = (conversation: Conversation): ConversationState => ({
  conversation,
  byKey: new Map(),
  byId: new Map(),
  deliveries: new Map(),
})

export interface Decision {
  readonly result: CommandResult
  readonly events: ReadonlyArray<Event>
}

const envelope = (state: ConversationState, stamp: { eventId: Event["id"]; at: number }) => ({
  id: stamp.eventId,
  tenantId: state.conversation.tenantId,
  conversationId: state.conversation.id,
  at: stamp.at,
})

/** Decides one command against the state: the events it produces, or the rule it breaks. */
export const decide = (
  state: ConversationState,
  command: ConversationCommand,
): Either.Either<Decision, CommandError> => {
  const conversation = state.conversation
  switch (command._tag) {
    case "Send": {
      const { draft } = command
      if (!conversation.isMember(draft.senderId))
        return Either.left(new NotAMember({ conversationId: conversation.id, userId: draft.senderId }))
      const prior = state.byKey.get(idempotencyKey(draft.senderId, draft.clientMessageId))
      if (prior !== undefined) {
        return fingerprint(prior) === fingerprint(draft)
          ? Either.right({ result: Result.Sent({ message: prior, replayed: true }), events: [] })
          : Either.left(
              new IdempotencyConflict({
                clientMessageId: draft.clientMessageId,
                originalMessageId: prior.id,
              }),
            )
      }
      const message = trusted(Message, {
        id: command.messageId,
        tenantId: conversation.tenantId,
        conversationId: conversation.id,
        seq: conversation.lastSeq + 1,
        senderId: draft.senderId,
        clientMessageId: draft.clientMessageId,
        content: draft.content,
        ...(draft.replyTo === undefined ? {} : { replyTo: draft.replyTo }),
        channels: draft.channels,
        metadata: draft.metadata,
        createdAt: command.stamp.at,
        status: "sent",
      })
      return Either.right({
        result: Result.Sent({ message, replayed: false }),
        events: [
          trusted(MessageCreated, {
            ...envelope(state, command.stamp),
            type: "message.created",
            data: { message },
          }),
        ],
      })
    }
    case "Receipt": {
      const member = conversation.member(command.userId)
      if (member === undefined)
        return Either.left(new NotAMember({ conversationId: conversation.id, userId: command.userId }))
      if (!Number.isInteger(command.seq) || command.seq < 0 || command.seq > conversation.lastSeq)
        return Either.left(
          new InvalidRequest({
            field: "seq",
            message: `seq ${command.seq} is outside 0..${conversation.lastSeq}, the conversation's last seq`,
          }),
        )
      const next = advanceHorizon(member, command.kind, command.seq)
      if (next === undefined)
        return Either.right({ result: Result.ReceiptRecorded({ member, changed: false }), events: [] })
      const data = { userId: command.userId, seq: command.seq }
      const event =
        command.kind === "read"
          ? trusted(ReceiptRead, { ...envelope(state, command.stamp), type: "receipt.read", data })
          : trusted(ReceiptDelivered, { ...envelope(state, command.stamp), type: "receipt.delivered", data })
      return Either.right({
        result: Result.ReceiptRecorded({ member: next, changed: true }),
        events: [event],
      })
    }
    case "DeliveryUpdate": {
      const message = state.byId.get(command.messageId)
      if (message === undefined || message.conversationId !== conversation.id)
        return Either.left(new MessageNotFound({ messageId: command.messageId }))
      if (command.channel === appChannel)
        return Either.left(
          new InvalidRequest({
            field: "channel",
            message: "the app channel moves through receipts, not updates",
          }),
        )
      if (command.userId === message.senderId)
        return Either.left(new InvalidRequest({ field: "userId", message: "the sender is not a recipient" }))
      const key = deliveryKey(command.messageId, command.userId, command.channel)
      const current = state.deliveries.get(key)
      const next = DeliveryState.advance(current?.status, command.status)
      if (next === undefined) {
        // Stale or a repeat: nothing moves, nothing is published, and the history does not grow.
        const record =
          current ??
          trusted(DeliveryRecord, {
            messageId: command.messageId,
            userId: command.userId,
            channel: command.channel,
            status: command.status,
            updatedAt: command.stamp.at,
          })
        return Either.right({ result: Result.DeliveryRecorded({ record, applied: false }), events: [] })
      }
      const record = trusted(DeliveryRecord, {
        messageId: command.messageId,
        userId: command.userId,
        channel: command.channel,
        status: next,
        updatedAt: command.stamp.at,
      })
      const event = trusted(MessageStatusChanged, {
        ...envelope(state, command.stamp),
        type: "message.status",
        data: {
          messageId: message.id,
          seq: message.seq,
          status: next,
          userId: command.userId,
          channel: command.channel,
          ...(command.detail === undefined ? {} : { detail: command.detail }),
        },
      })
      return Either.right({ result: Result.DeliveryRecorded({ record, applied: true }), events: [event] })
    }
    case "AddMember": {
      const existing = conversation.member(command.userId)
      if (existing !== undefined)
        return Either.right({ result: Result.MemberAdded({ member: existing, added: false }), events: [] })
      if (conversation.type === "direct")
        return Either.left(
          new InvalidRequest({ field: "userId", message: "a direct conversation has exactly two members" }),
        )
      const member = trusted(Member, {
        userId: command.userId,
        role: command.role,
        joinedAt: command.stamp.at,
        // A new member has nothing to catch up on: history before joining is not unread for them.
        readSeq: conversation.lastSeq,
        deliveredSeq: conversation.lastSeq,
      })
      return Either.right({
        result: Result.MemberAdded({ member, added: true }),
        events: [
          trusted(MemberAdded, {
            ...envelope(state, command.stamp),
            type: "member.added",
            data: { userId: command.userId, role: command.role },
          }),
        ],
      })
    }
    case "RemoveMember": {
      if (!conversation.isMember(command.userId))
        return Either.right({
          result: Result.MemberRemoved({ userId: command.userId, removed: false }),
          events: [],
        })
      if (conversation.type === "direct")
        return Either.left(
          new InvalidRequest({ field: "userId", message: "a direct conversation has exactly two members" }),
        )
      return Either.right({
        result: Result.MemberRemoved({ userId: command.userId, removed: true }),
        events: [
          trusted(MemberRemoved, {
            ...envelope(state, command.stamp),
            type: "member.removed",
            data: { userId: command.userId },
          }),
        ],
      })
    }
  }
}

/** The decider's working copy: the same shape as the state, with maps it may write. */
interface WorkingState {
  conversation: Conversation
  /**
   * The conversation is this copy's own (made by a patch during this batch, seen by nothing outside it),
   * so later patches may write it in place: a batch of sends pays one copy, not one per message.
   */
  ownsConversation: boolean
  readonly byKey: Map<string, Message>
  readonly byId: Map<MessageId, Message>
  readonly deliveries: Map<string, DeliveryRecord>
}

const workingCopy = (state: ConversationState): WorkingState => ({
  conversation: state.conversation,
  ownsConversation: false,
  byKey: new Map(state.byKey),
  byId: new Map(state.byId),
  deliveries: new Map(state.deliveries),
})

const patchConversation = (state: WorkingState, patch: Partial<Conversation>) => {
  if (state.ownsConversation) Object.assign(state.conversation, patch)
  else {
    state.conversation = trusted(ConversationClass, { ...state.conversation, ...patch })
    state.ownsConversation = true
  }
}

/** Applies one event to a working copy, in place: a batch pays one copy of the state, not one per event. */
const apply = (state: WorkingState, event: Event): void => {
  const conversation = state.conversation
  switch (event.type) {
    case "message.created": {
      const message = event.data.message
      state.byKey.set(idempotencyKey(message.senderId, message.clientMessageId), message)
      state.byId.set(message.id, message)
      patchConversation(state, { lastSeq: message.seq, updatedAt: event.at })
      return
    }
    case "receipt.delivered":
    case "receipt.read": {
      const kind = event.type === "receipt.read" ? "read" : "delivered"
      const members = conversation.members.map((m) =>
        m.userId === event.data.userId ? (advanceHorizon(m, kind, event.data.seq) ?? m) : m,
      )
      patchConversation(state, { members })
      return
    }
    case "message.status": {
      const { messageId, userId, channel, status } = event.data
      if (userId === undefined || channel === undefined) return
      state.deliveries.set(
        deliveryKey(messageId, userId, channel),
        trusted(DeliveryRecord, { messageId, userId, channel, status, updatedAt: event.at }),
      )
      return
    }
    case "member.added": {
      const member = trusted(Member, {
        userId: event.data.userId,
        role: event.data.role,
        joinedAt: event.at,
        readSeq: conversation.lastSeq,
        deliveredSeq: conversation.lastSeq,
      })
      patchConversation(state, { members: [...conversation.members, member], updatedAt: event.at })
      return
    }
    case "member.removed":
      patchConversation(state, {
        members: conversation.members.filter((m) => m.userId !== event.data.userId),
        updatedAt: event.at,
      })
      return
    case "conversation.created":
    case "conversation.updated":
      state.conversation = event.data.conversation
      state.ownsConversation = false
      return
  }
}

/** Applies one event to the state. Stores persist the same events; the two must agree. */
export const evolve = (state: ConversationState, event: Event): ConversationState => {
  const next = workingCopy(state)
  apply(next, event)
  return next
}

export interface BatchDecision {
  readonly outcomes: ReadonlyArray<Either.Either<CommandResult, CommandError>>
  readonly events: ReadonlyArray<Event>
  readonly state: ConversationState
}

/**
 * Decides a batch in order, each command seeing the effects of the ones before it: this is what one
 * group commit writes. A rejected command leaves the others untouched.
 */
export const decideBatch = (
  initial: ConversationState,
  commands: ReadonlyArray<ConversationCommand>,
): BatchDecision => {
  const state = workingCopy(initial)
  const outcomes: Array<Either.Either<CommandResult, CommandError>> = []
  const events: Array<Event> = []
  for (const command of commands) {
    const decision = decide(state, command)
    if (Either.isLeft(decision)) {
      outcomes.push(Either.left(decision.left))
      continue
    }
    for (const event of decision.right.events) {
      apply(state, event)
      events.push(event)
    }
    outcomes.push(Either.right(decision.right.result))
  }
  return { outcomes, events, state }
}

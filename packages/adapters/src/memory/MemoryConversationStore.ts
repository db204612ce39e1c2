import {
  Conversation,
  ConversationDecider,
  ConversationStore,
  Delivery,
  Errors,
  type Event,
  type Ids,
  type Message,
} from "@chat4all/domain"
import { Effect, Layer, Option } from "effect"
import { withStatus } from "./MemoryMessageStore.js"
import { MemoryState, type TenantState } from "./MemoryState.js"

const keyOf = (conversationId: Ids.ConversationId, key: string) => `${conversationId}\u0000${key}`

/** Loads the slice of state the commands need, exactly as a database adapter would inside its transaction. */
const load = (
  tenant: TenantState,
  conversation: Conversation.Conversation,
  needs: ConversationDecider.Needs,
): ConversationDecider.ConversationState => {
  const byKey = new Map<string, Message.Message>()
  for (const { senderId, clientMessageId } of needs.keys) {
    const key = ConversationDecider.idempotencyKey(senderId, clientMessageId)
    const found = tenant.messagesByKey.get(keyOf(conversation.id, key))
    if (found !== undefined) byKey.set(key, found)
  }
  const byId = new Map<Ids.MessageId, Message.Message>()
  for (const id of needs.messageIds) {
    const found = tenant.messagesById.get(id)
    if (found !== undefined) byId.set(id, found)
  }
  const deliveries = new Map<string, Delivery.DeliveryRecord>()
  for (const { messageId, userId, channel } of needs.deliveries) {
    const key = ConversationDecider.deliveryKey(messageId, userId, channel)
    const found = tenant.deliveries.get(messageId)?.get(key)
    if (found !== undefined) deliveries.set(key, found)
  }
  return { conversation, byKey, byId, deliveries }
}

/** Writes what the events say; `final` is the conversation after all of them (horizons, members, lastSeq). */
const persist = (
  tenant: TenantState,
  final: Conversation.Conversation,
  events: ReadonlyArray<Event.Event>,
) => {
  tenant.conversations.set(final.id, final)
  for (const event of events) {
    if (event.type === "message.created") {
      const message = event.data.message
      let list = tenant.messages.get(message.conversationId)
      if (list === undefined) {
        list = []
        tenant.messages.set(message.conversationId, list)
      }
      list.push(message)
      tenant.messagesById.set(message.id, message)
      tenant.messagesByKey.set(
        keyOf(
          message.conversationId,
          ConversationDecider.idempotencyKey(message.senderId, message.clientMessageId),
        ),
        message,
      )
      tenant.history.set(message.id, [
        new Delivery.StatusTransition({ messageId: message.id, status: "sent", at: message.createdAt }, true),
      ])
    } else if (event.type === "message.status" && event.data.userId !== undefined && event.data.channel) {
      const { messageId, userId, channel, status, detail } = event.data
      let records = tenant.deliveries.get(messageId)
      if (records === undefined) {
        records = new Map()
        tenant.deliveries.set(messageId, records)
      }
      records.set(
        ConversationDecider.deliveryKey(messageId, userId, channel),
        new Delivery.DeliveryRecord({ messageId, userId, channel, status, updatedAt: event.at }, true),
      )
      tenant.history.get(messageId)?.push(
        new Delivery.StatusTransition({
          messageId,
          status,
          userId,
          channel,
          at: event.at,
          ...(detail === undefined ? {} : { detail }),
        }),
      )
    }
  }
}

const summaryCursor = (c: Conversation.Conversation) => `${c.updatedAt}:${c.id}`

/** Latest activity first; ties by id so the order is total and the cursor stable. */
const byActivity = (a: Conversation.Conversation, b: Conversation.Conversation) =>
  b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

export const make = Effect.gen(function* () {
  const state = yield* MemoryState
  return ConversationStore.ConversationStore.of({
    create: (conversation, event) =>
      Effect.sync(() => {
        const tenant = state.tenant(conversation.tenantId)
        if (conversation.type === "direct") {
          const [a, b] = conversation.members
          const pair = a && b ? Conversation.directPairKey(a.userId, b.userId) : undefined
          const existingId = pair === undefined ? undefined : tenant.directPairs.get(pair)
          const existing = existingId === undefined ? undefined : tenant.conversations.get(existingId)
          if (existing !== undefined) return { conversation: existing, created: false }
          if (pair !== undefined) tenant.directPairs.set(pair, conversation.id)
        }
        tenant.conversations.set(conversation.id, conversation)
        state.append(tenant, [event])
        return { conversation, created: true }
      }),
    get: (tenantId, conversationId) =>
      Effect.sync(() => Option.fromNullable(state.tenant(tenantId).conversations.get(conversationId))),
    listForUser: (tenantId, userId, { limit, cursor }) =>
      Effect.sync(() => {
        const tenant = state.tenant(tenantId)
        const mine = [...tenant.conversations.values()].filter((c) => c.isMember(userId)).sort(byActivity)
        const start = cursor === undefined ? 0 : mine.findIndex((c) => summaryCursor(c) === cursor) + 1
        const page = mine.slice(start, start + limit)
        const items = page.map((conversation) => {
          const messages = tenant.messages.get(conversation.id) ?? []
          const readSeq = conversation.member(userId)?.readSeq ?? 0
          let unreadCount = 0
          for (let i = readSeq; i < messages.length; i++) if (messages[i]?.senderId !== userId) unreadCount++
          const last = messages[messages.length - 1]
          return {
            conversation,
            lastMessage: last === undefined ? undefined : withStatus(tenant, conversation, last),
            unreadCount,
          }
        })
        const lastOfPage = page[page.length - 1]
        return {
          items,
          nextCursor: start + limit < mine.length && lastOfPage ? summaryCursor(lastOfPage) : undefined,
        }
      }),
    commit: (tenantId, conversationId, commands) =>
      Effect.suspend(() => {
        const tenant = state.tenant(tenantId)
        const conversation = tenant.conversations.get(conversationId)
        if (conversation === undefined)
          return Effect.fail(new Errors.ConversationNotFound({ conversationId }))
        const decision = ConversationDecider.decideBatch(
          load(tenant, conversation, ConversationDecider.needs(commands)),
          commands,
        )
        persist(tenant, decision.state.conversation, decision.events)
        state.append(tenant, decision.events)
        return Effect.succeed(decision.outcomes)
      }),
  })
})

export const layer = Layer.effect(ConversationStore.ConversationStore, make)

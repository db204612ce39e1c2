import {
  type Conversation,
  type Message,
  Message as MessageModule,
  MessageStatus,
  MessageStore,
} from "@chat4all/domain"
import { Effect, Layer, Option } from "effect"
import { MemoryState, type TenantState } from "./MemoryState.js"

/** The message with its aggregate status as of now. */
export const withStatus = (
  tenant: TenantState,
  conversation: Conversation.Conversation | undefined,
  message: Message.Message,
): Message.Message => {
  const records = [...(tenant.deliveries.get(message.id)?.values() ?? [])]
  const status = MessageStatus.aggregate(message, conversation?.members ?? [], records)
  return status === message.status ? message : new MessageModule.Message({ ...message, status }, true)
}

export const make = Effect.gen(function* () {
  const state = yield* MemoryState
  const statusOf = (tenant: TenantState, message: Message.Message) =>
    withStatus(tenant, tenant.conversations.get(message.conversationId), message)

  return MessageStore.MessageStore.of({
    get: (tenantId, messageId) =>
      Effect.sync(() => {
        const tenant = state.tenant(tenantId)
        return Option.map(Option.fromNullable(tenant.messagesById.get(messageId)), (m) => statusOf(tenant, m))
      }),
    list: (tenantId, conversationId, { after, before, limit }) =>
      Effect.sync(() => {
        const tenant = state.tenant(tenantId)
        const all = tenant.messages.get(conversationId) ?? []
        // seq n sits at index n - 1; bounds are exclusive.
        const upper = Math.min(all.length, before === undefined ? all.length : Math.max(0, before - 1))
        const lower = after === undefined ? Math.max(0, upper - limit) : Math.max(0, after)
        return all.slice(lower, Math.min(upper, lower + limit)).map((m) => statusOf(tenant, m))
      }),
    deliveries: (tenantId, messageId) =>
      Effect.sync(() => [...(state.tenant(tenantId).deliveries.get(messageId)?.values() ?? [])]),
    history: (tenantId, messageId) =>
      Effect.sync(() => [...(state.tenant(tenantId).history.get(messageId) ?? [])]),
  })
})

export const layer = Layer.effect(MessageStore.MessageStore, make)

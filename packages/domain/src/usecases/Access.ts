import { Effect, Option } from "effect"
import type { Conversation } from "../model/Conversation.js"
import { ConversationNotFound, Forbidden, MessageNotFound, NotAMember } from "../model/Errors.js"
import type { ConversationId, MessageId } from "../model/Ids.js"
import type { Message } from "../model/Message.js"
import { ConversationStore } from "../ports/ConversationStore.js"
import { MessageStore } from "../ports/MessageStore.js"
import type { Caller } from "./Caller.js"

/**
 * A conversation the caller may read: members, and the services and admins of its tenant. Another
 * tenant's conversation does not exist for the caller (404, never 403).
 */
export const readableConversation = (caller: Caller, conversationId: ConversationId) =>
  Effect.gen(function* () {
    const store = yield* ConversationStore
    const found = yield* store.get(caller.tenantId, conversationId)
    if (Option.isNone(found)) return yield* new ConversationNotFound({ conversationId })
    const conversation = found.value
    if (!caller.isPrivileged && !conversation.isMember(caller.userId))
      return yield* new NotAMember({ conversationId, userId: caller.userId })
    return conversation
  })

/** A message the caller may read, with its conversation. */
export const readableMessage = (caller: Caller, messageId: MessageId) =>
  Effect.gen(function* () {
    const messages = yield* MessageStore
    const found = yield* messages.get(caller.tenantId, messageId)
    if (Option.isNone(found)) return yield* new MessageNotFound({ messageId })
    const conversation = yield* readableConversation(caller, found.value.conversationId).pipe(
      // A message of a conversation that vanished is as good as not found.
      Effect.catchTag("ConversationNotFound", () => new MessageNotFound({ messageId })),
    )
    return { message: found.value as Message, conversation }
  })

/** Owners and admins of the conversation manage its members; so do services and admins of the tenant. */
export const canManageMembers = (
  caller: Caller,
  conversation: Conversation,
): Effect.Effect<void, Forbidden> => {
  if (caller.isPrivileged) return Effect.void
  const role = conversation.member(caller.userId)?.role
  return role === "owner" || role === "admin"
    ? Effect.void
    : Effect.fail(new Forbidden({ message: "only owners and admins of the conversation manage its members" }))
}

import { Schema } from "effect"
import { ClientMessageId, ConversationId, MessageId, UserId } from "./Ids.js"

/** Errors that cross a boundary carry the stable snake_case `code` of API.md. */

export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  field: Schema.String,
  message: Schema.String,
}) {
  readonly code = "invalid_request"
}

export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String,
}) {
  readonly code = "forbidden"
}

export class NotAMember extends Schema.TaggedError<NotAMember>()("NotAMember", {
  conversationId: ConversationId,
  userId: UserId,
}) {
  readonly code = "not_a_member"
  override get message() {
    return `${this.userId} is not a member of conversation ${this.conversationId}`
  }
}

export class ConversationNotFound extends Schema.TaggedError<ConversationNotFound>()("ConversationNotFound", {
  conversationId: ConversationId,
}) {
  readonly code = "conversation_not_found"
  override get message() {
    return `conversation ${this.conversationId} not found`
  }
}

export class MessageNotFound extends Schema.TaggedError<MessageNotFound>()("MessageNotFound", {
  messageId: Schema.String,
}) {
  readonly code = "message_not_found"
  override get message() {
    return `message ${this.messageId} not found`
  }
}

export class IdempotencyConflict extends Schema.TaggedError<IdempotencyConflict>()("IdempotencyConflict", {
  clientMessageId: ClientMessageId,
  originalMessageId: MessageId,
}) {
  readonly code = "idempotency_conflict"
  override get message() {
    return `clientMessageId ${this.clientMessageId} was already used for a different message (${this.originalMessageId})`
  }
}

export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  retryAfterMs: Schema.Number,
}) {
  readonly code = "rate_limited"
  override get message() {
    return `too many requests; retry after ${Math.ceil(this.retryAfterMs / 1000)} s`
  }
}

/** A store could not be reached or answered with something unexpected: a server-side failure, retried by callers. */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  operation: Schema.String,
  cause: Schema.Defect,
}) {
  readonly code = "store_unavailable"
}

/** The errors a conversation command can end with, by rule. */
export type CommandError = InvalidRequest | Forbidden | NotAMember | MessageNotFound | IdempotencyConflict

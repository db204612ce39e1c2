import { Effect, Either, Option, ParseResult, Schema } from "effect"
import { ConversationActor } from "../actor/ConversationActor.js"
import type { Content } from "../model/Content.js"
import type { Metadata } from "../model/Conversation.js"
import { Forbidden, InvalidRequest } from "../model/Errors.js"
import type { ClientMessageId, ConversationId, MessageId } from "../model/Ids.js"
import { type Channels, MessageDraft } from "../model/Message.js"
import { clampLimit } from "../model/Page.js"
import { trusted } from "../model/Trusted.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { MessageStore } from "../ports/MessageStore.js"
import { ConversationCommand } from "../rules/ConversationCommand.js"
import { readableConversation, readableMessage } from "./Access.js"
import type { Caller } from "./Caller.js"
import { checkFileContent, shareFileContent } from "./Files.js"
import { stamp } from "./Stamp.js"

/**
 * Checks a draft against its schema with a validator compiled once: `new MessageDraft(...)` would compile
 * one per call (effect 3.22 does so for classes whose fields hold classes), the dearest step of a send.
 * The valid fields then make the draft as `Trusted` does (the constructor, even unvalidated, copies them
 * twice).
 */
const draftValidator = Schema.validateEither(Schema.Struct(MessageDraft.fields))
const validateDraft = (fields: ConstructorParameters<typeof MessageDraft>[0]) =>
  Either.match(draftValidator(fields), {
    onLeft: (error) =>
      Effect.fail(
        new InvalidRequest({
          field: fieldOf(error),
          message: ParseResult.TreeFormatter.formatErrorSync(error),
        }),
      ),
    onRight: (valid) => Effect.succeed(trusted(MessageDraft, valid)),
  })

/** The first path segment the schema complained about, for `invalid_request` errors that name the field. */
const fieldOf = (error: ParseResult.ParseError): string => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  return issue?.path.map(String).join(".") || "message"
}

export interface SendMessageInput {
  readonly clientMessageId: ClientMessageId
  readonly content: Content
  readonly replyTo?: MessageId | undefined
  readonly channels?: Channels | undefined
  readonly metadata?: Metadata | undefined
}

/**
 * Sends a message as the caller. A retry with the same `clientMessageId` and payload answers the original
 * (`replayed: true`); the same id with another payload is an `IdempotencyConflict`.
 */
export const sendMessage = (caller: Caller, conversationId: ConversationId, input: SendMessageInput) =>
  Effect.gen(function* () {
    if (input.content.type === "system" && !caller.isPrivileged)
      return yield* new Forbidden({ message: "system messages are written by services and admins only" })
    yield* checkFileContent(caller, input.content)
    if (input.replyTo !== undefined) {
      const messages = yield* MessageStore
      const target = yield* messages.get(caller.tenantId, input.replyTo)
      if (Option.isNone(target) || target.value.conversationId !== conversationId)
        return yield* new InvalidRequest({
          field: "replyTo",
          message: `no message ${input.replyTo} in this conversation`,
        })
    }
    const draft = yield* validateDraft({
      senderId: caller.userId,
      clientMessageId: input.clientMessageId,
      content: input.content,
      ...(input.replyTo === undefined ? {} : { replyTo: input.replyTo }),
      channels: input.channels ?? ["all"],
      metadata: input.metadata ?? {},
    })
    const ids = yield* IdGenerator
    const actor = yield* ConversationActor
    const result = yield* actor.execute(
      caller.tenantId,
      conversationId,
      ConversationCommand.Send({ draft, messageId: yield* ids.messageId, stamp: yield* stamp }),
    )
    if (result._tag !== "Sent") return yield* Effect.dieMessage(`Send answered ${result._tag}`)
    yield* shareFileContent(caller, conversationId, result.message.content)
    return result
  })

export const getMessage = (caller: Caller, messageId: MessageId) =>
  Effect.map(readableMessage(caller, messageId), ({ message }) => message)

export const listMessages = (
  caller: Caller,
  conversationId: ConversationId,
  options: {
    readonly after?: number | undefined
    readonly before?: number | undefined
    readonly limit?: number | undefined
  },
) =>
  Effect.gen(function* () {
    yield* readableConversation(caller, conversationId)
    const messages = yield* MessageStore
    return yield* messages.list(caller.tenantId, conversationId, {
      after: options.after,
      before: options.before,
      limit: clampLimit(options.limit),
    })
  })

/** The message with up to `before` neighbours before it and `after` after it, by seq. */
export const messageContext = (
  caller: Caller,
  messageId: MessageId,
  options: { readonly before?: number | undefined; readonly after?: number | undefined },
) =>
  Effect.gen(function* () {
    const { message } = yield* readableMessage(caller, messageId)
    const messages = yield* MessageStore
    const before = Math.min(100, Math.max(0, options.before ?? 5))
    const after = Math.min(100, Math.max(0, options.after ?? 5))
    const earlier =
      before === 0
        ? []
        : yield* messages.list(caller.tenantId, message.conversationId, {
            before: message.seq,
            limit: before,
          })
    const later =
      after === 0
        ? []
        : yield* messages.list(caller.tenantId, message.conversationId, { after: message.seq, limit: after })
    return [...earlier, message, ...later]
  })

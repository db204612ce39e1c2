import { Content, Conversation as DomainConversation, Message as DomainMessage, Ids } from "@chat4all/domain"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Page } from "../../wire/Common.js"
import { Member } from "../../wire/Conversation.js"
import { Message } from "../../wire/Message.js"
import { MessageStatusView, StatusHistory } from "../../wire/Status.js"
import { Authentication } from "../Authentication.js"
import { conflict, rateLimited, withCommonErrors } from "./Errors.js"
import { ConversationPath, IntParam, Limit, MessagePath } from "./Params.js"

export const SendMessage = Schema.Struct({
  clientMessageId: Schema.optional(Ids.ClientMessageId).annotations({
    description: "The sender's idempotency key; the `Idempotency-Key` header stands in when it is missing",
  }),
  content: Content.Content,
  replyTo: Schema.optional(Ids.MessageId),
  channels: Schema.optional(DomainMessage.Channels).annotations({ description: 'Default `["all"]`' }),
  metadata: Schema.optional(DomainConversation.Metadata),
}).annotations({ identifier: "SendMessage" })

export const SendHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(Ids.ClientMessageId).annotations({
    description: "Stands in for a missing `clientMessageId`",
  }),
})

export const Receipt = Schema.Struct({
  type: Schema.Literal("delivered", "read"),
  seq: Schema.Int.pipe(Schema.nonNegative()),
}).annotations({ identifier: "Receipt" })

export const MessageList = Page(Message, "MessagePage")

export const MessageContext = Schema.Struct({ items: Schema.Array(Message) }).annotations({
  identifier: "MessageContext",
})

export const MessagesApi = withCommonErrors(
  HttpApiGroup.make("messages")
    .add(
      HttpApiEndpoint.post("send", "/v1/conversations/:conversationId/messages")
        .setPath(ConversationPath)
        .setHeaders(SendHeaders)
        .setPayload(SendMessage)
        .addSuccess(Message, { status: 201 })
        .addSuccess(
          Message.annotations({
            description:
              "A replay of an earlier send: the original message, with `Idempotent-Replayed: true`",
          }),
        )
        .addError(...conflict)
        .addError(...rateLimited)
        .annotate(OpenApi.Summary, "Send a message")
        .annotate(
          OpenApi.Description,
          "201 with the new message. The same `clientMessageId` from the same sender again answers 200 with " +
            "the original message and the header `Idempotent-Replayed: true`; the same id with a different " +
            "body answers 409 `idempotency_conflict`. Rate limited per user per conversation (429, `Retry-After`).",
        ),
    )
    .add(
      HttpApiEndpoint.get("list", "/v1/conversations/:conversationId/messages")
        .setPath(ConversationPath)
        .setUrlParams(
          Schema.Struct({
            after: Schema.optional(IntParam(0, Number.MAX_SAFE_INTEGER, "Only messages with a greater seq")),
            before: Schema.optional(IntParam(1, Number.MAX_SAFE_INTEGER, "Only messages with a lower seq")),
            limit: Schema.optional(Limit),
            cursor: Schema.optional(Schema.String.annotations({ description: "A `nextCursor` from before" })),
          }),
        )
        .addSuccess(MessageList)
        .annotate(OpenApi.Summary, "Messages by seq, ascending")
        .annotate(
          OpenApi.Description,
          "No bounds: the latest `limit` messages. With `before` (or no bounds) `nextCursor` pages towards " +
            "older messages; with `after` it pages towards newer ones.",
        ),
    )
    .add(
      HttpApiEndpoint.post("receipt", "/v1/conversations/:conversationId/receipts")
        .setPath(ConversationPath)
        .setPayload(Receipt)
        .addSuccess(Member)
        .annotate(OpenApi.Summary, "Move the caller's delivered or read horizon forward")
        .annotate(
          OpenApi.Description,
          "A lower seq changes nothing; read implies delivered. Answers the membership.",
        ),
    )
    .add(
      HttpApiEndpoint.get("get", "/v1/messages/:messageId")
        .setPath(MessagePath)
        .addSuccess(Message)
        .annotate(OpenApi.Summary, "One message"),
    )
    .add(
      HttpApiEndpoint.get("status", "/v1/messages/:messageId/status")
        .setPath(MessagePath)
        .addSuccess(MessageStatusView)
        .annotate(OpenApi.Summary, "Aggregate status and one line per recipient and channel"),
    )
    .add(
      HttpApiEndpoint.get("history", "/v1/messages/:messageId/status/history")
        .setPath(MessagePath)
        .addSuccess(StatusHistory)
        .annotate(OpenApi.Summary, "Every status transition, oldest first"),
    )
    .add(
      HttpApiEndpoint.get("context", "/v1/messages/:messageId/context")
        .setPath(MessagePath)
        .setUrlParams(
          Schema.Struct({
            before: Schema.optional(IntParam(0, 100, "Neighbours before the message (default 5)")),
            after: Schema.optional(IntParam(0, 100, "Neighbours after the message (default 5)")),
          }),
        )
        .addSuccess(MessageContext)
        .annotate(OpenApi.Summary, "The message with its neighbours, by seq"),
    )
    .middleware(Authentication),
)

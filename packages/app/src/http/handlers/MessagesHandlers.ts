import { Deliveries, type Ids, Messages, Page, Receipts } from "@chat4all/domain"
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Metric } from "effect"
import { messagesSent } from "../../observability/Metrics.js"
import { fromMember, Member } from "../../wire/Conversation.js"
import { fromMessage, Message } from "../../wire/Message.js"
import { fromStatus, fromTransition, MessageStatusView, StatusHistory } from "../../wire/Status.js"
import { Api } from "../Api.js"
import { CurrentCaller } from "../Authentication.js"
import { MessageContext, MessageList } from "../api/MessagesApi.js"
import { problems } from "../DomainErrors.js"
import * as MessageCursor from "../MessageCursor.js"
import * as Problem from "../Problem.js"
import { SendRateLimiter, sendKey } from "../RateLimiter.js"
import { json } from "../Respond.js"

/** The body's clientMessageId, or the Idempotency-Key header standing in for it. */
const idempotencyKey = (
  body: Ids.ClientMessageId | undefined,
  header: Ids.ClientMessageId | undefined,
): Effect.Effect<Ids.ClientMessageId, Problem.Problem> => {
  if (body !== undefined && header !== undefined && body !== header)
    return Effect.fail(
      Problem.invalidRequest(
        "Idempotency-Key",
        "differs from the body's clientMessageId; send one or make them equal",
      ),
    )
  const key = body ?? header
  return key === undefined
    ? Effect.fail(Problem.invalidRequest("clientMessageId", "is missing (or send an Idempotency-Key header)"))
    : Effect.succeed(key)
}

export const MessagesHandlers = HttpApiBuilder.group(Api, "messages", (handlers) =>
  Effect.gen(function* () {
    const limiter = yield* SendRateLimiter
    return handlers
      .handle("send", ({ path, payload, headers }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          const clientMessageId = yield* idempotencyKey(payload.clientMessageId, headers["idempotency-key"])
          yield* problems(limiter.take(sendKey(caller.tenantId, caller.userId, path.conversationId)))
          const { message, replayed } = yield* problems(
            Messages.sendMessage(caller, path.conversationId, {
              clientMessageId,
              content: payload.content,
              replyTo: payload.replyTo,
              channels: payload.channels,
              metadata: payload.metadata,
            }),
          )
          const body = fromMessage(message)
          if (replayed) return json(Message, body, { headers: { "idempotent-replayed": "true" } })
          yield* Metric.increment(messagesSent)
          return json(Message, body, { status: 201 })
        }),
      )
      .handle("list", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          const bounds =
            urlParams.cursor === undefined
              ? { after: urlParams.after, before: urlParams.before }
              : yield* MessageCursor.decode(urlParams.cursor)
          const limit = Page.clampLimit(urlParams.limit)
          const items = yield* problems(
            Messages.listMessages(caller, path.conversationId, { ...bounds, limit }),
          )
          return json(MessageList, {
            items: items.map(fromMessage),
            nextCursor: MessageCursor.next(bounds, items, limit) ?? null,
          })
        }),
      )
      .handle("receipt", ({ path, payload }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          const { member } = yield* problems(
            Receipts.recordReceipt(caller, path.conversationId, payload.type, payload.seq),
          )
          return json(Member, fromMember(member))
        }),
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          return json(Message, fromMessage(yield* problems(Messages.getMessage(caller, path.messageId))))
        }),
      )
      .handle("status", ({ path }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          return json(
            MessageStatusView,
            fromStatus(yield* problems(Deliveries.messageStatus(caller, path.messageId))),
          )
        }),
      )
      .handle("history", ({ path }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          const transitions = yield* problems(Deliveries.statusHistory(caller, path.messageId))
          return json(StatusHistory, { items: transitions.map(fromTransition) })
        }),
      )
      .handle("context", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          const items = yield* problems(Messages.messageContext(caller, path.messageId, urlParams))
          return json(MessageContext, { items: items.map(fromMessage) })
        }),
      )
  }),
)

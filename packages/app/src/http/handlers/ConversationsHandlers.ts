import { Conversations } from "@chat4all/domain"
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { fromConversation, fromMember, fromSummary } from "../../wire/Conversation.js"
import { Api } from "../Api.js"
import { CurrentCaller } from "../Authentication.js"
import { problems } from "../DomainErrors.js"

export const ConversationsHandlers = HttpApiBuilder.group(Api, "conversations", (handlers) =>
  handlers
    .handle("create", ({ payload }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const { conversation, created } = yield* problems(Conversations.createConversation(caller, payload))
        const body = fromConversation(conversation)
        return created ? body : HttpServerResponse.unsafeJson(body, { status: 200 })
      }),
    )
    .handle("list", ({ urlParams }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const page = yield* problems(Conversations.listConversations(caller, urlParams))
        return { items: page.items.map(fromSummary), nextCursor: page.nextCursor ?? null }
      }),
    )
    .handle("get", ({ path }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return fromConversation(yield* problems(Conversations.getConversation(caller, path.conversationId)))
      }),
    )
    .handle("addMember", ({ path, payload }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const { member, added } = yield* problems(
          Conversations.addMember(caller, path.conversationId, payload.userId, payload.role ?? "member"),
        )
        const body = fromMember(member)
        return added ? body : HttpServerResponse.unsafeJson(body, { status: 200 })
      }),
    )
    .handle("removeMember", ({ path }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* problems(Conversations.removeMember(caller, path.conversationId, path.userId))
      }),
    ),
)

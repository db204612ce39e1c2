import { Conversations } from "@chat4all/domain"
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Conversation, fromConversation, fromMember, fromSummary, Member } from "../../wire/Conversation.js"
import { Api } from "../Api.js"
import { CurrentCaller } from "../Authentication.js"
import { ConversationPage } from "../api/ConversationsApi.js"
import { problems } from "../DomainErrors.js"
import { json } from "../Respond.js"

export const ConversationsHandlers = HttpApiBuilder.group(Api, "conversations", (handlers) =>
  handlers
    .handle("create", ({ payload }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const { conversation, created } = yield* problems(Conversations.createConversation(caller, payload))
        const body = fromConversation(conversation)
        return json(Conversation, body, { status: created ? 201 : 200 })
      }),
    )
    .handle("list", ({ urlParams }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const page = yield* problems(Conversations.listConversations(caller, urlParams))
        return json(ConversationPage, {
          items: page.items.map(fromSummary),
          nextCursor: page.nextCursor ?? null,
        })
      }),
    )
    .handle("get", ({ path }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return json(
          Conversation,
          fromConversation(yield* problems(Conversations.getConversation(caller, path.conversationId))),
        )
      }),
    )
    .handle("addMember", ({ path, payload }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const { member, added } = yield* problems(
          Conversations.addMember(caller, path.conversationId, payload.userId, payload.role ?? "member"),
        )
        const body = fromMember(member)
        return json(Member, body, { status: added ? 201 : 200 })
      }),
    )
    .handle("removeMember", ({ path }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* problems(Conversations.removeMember(caller, path.conversationId, path.userId))
      }),
    ),
)

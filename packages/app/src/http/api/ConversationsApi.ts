import { Conversation as DomainConversation, Ids, Member } from "@chat4all/domain"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Page } from "../../wire/Common.js"
import { Conversation, Member as WireMember } from "../../wire/Conversation.js"
import { Authentication } from "../Authentication.js"
import { withCommonErrors } from "./Errors.js"
import { ConversationPath, Limit, MemberPath } from "./Params.js"

export const CreateConversation = Schema.Struct({
  type: DomainConversation.ConversationType,
  members: Schema.Array(Ids.UserId).pipe(Schema.maxItems(1000)).annotations({
    description: "User ids, joining with role `member`; a user caller joins as well (as owner of a group)",
  }),
  title: Schema.optional(Schema.String.pipe(Schema.maxLength(256))),
  metadata: Schema.optional(DomainConversation.Metadata),
}).annotations({ identifier: "CreateConversation" })

export const AddMember = Schema.Struct({
  userId: Ids.UserId,
  role: Schema.optional(Member.MemberRole).annotations({ description: "Default `member`" }),
}).annotations({ identifier: "AddMember" })

export const ConversationPage = Page(Conversation, "ConversationPage")

export const ConversationsApi = withCommonErrors(
  HttpApiGroup.make("conversations")
    .add(
      HttpApiEndpoint.post("create", "/v1/conversations")
        .setPayload(CreateConversation)
        .addSuccess(Conversation, { status: 201 })
        .addSuccess(
          Conversation.annotations({ description: "The existing direct conversation of this pair" }),
        )
        .annotate(OpenApi.Summary, "Create a conversation")
        .annotate(
          OpenApi.Description,
          "201 with a new conversation; a direct conversation for a pair that already has one answers 200 with it.",
        ),
    )
    .add(
      HttpApiEndpoint.get("list", "/v1/conversations")
        .setUrlParams(
          Schema.Struct({ limit: Schema.optional(Limit), cursor: Schema.optional(Schema.String) }),
        )
        .addSuccess(ConversationPage)
        .annotate(OpenApi.Summary, "The caller's conversations, latest activity first")
        .annotate(OpenApi.Description, "Each with `lastMessage` and the caller's `unreadCount`."),
    )
    .add(
      HttpApiEndpoint.get("get", "/v1/conversations/:conversationId")
        .setPath(ConversationPath)
        .addSuccess(Conversation)
        .annotate(OpenApi.Summary, "One conversation (members, services and admins only)"),
    )
    .add(
      HttpApiEndpoint.post("addMember", "/v1/conversations/:conversationId/members")
        .setPath(ConversationPath)
        .setPayload(AddMember)
        .addSuccess(WireMember, { status: 201 })
        .addSuccess(WireMember.annotations({ description: "Already a member: the membership as it is" }))
        .annotate(OpenApi.Summary, "Add a member (owners and admins of the conversation, services)"),
    )
    .add(
      HttpApiEndpoint.del("removeMember", "/v1/conversations/:conversationId/members/:userId")
        .setPath(MemberPath)
        .addSuccess(HttpApiSchema.NoContent)
        .annotate(
          OpenApi.Summary,
          "Remove a member (owners and admins of the conversation, services; anyone may remove themselves)",
        ),
    )
    .middleware(Authentication),
)

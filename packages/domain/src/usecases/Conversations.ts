import { Effect } from "effect"
import { ConversationActor } from "../actor/ConversationActor.js"
import { Conversation, type ConversationType, type Metadata } from "../model/Conversation.js"
import { InvalidRequest } from "../model/Errors.js"
import { ConversationCreated } from "../model/Event.js"
import type { ConversationId, UserId } from "../model/Ids.js"
import { Member, type MemberRole } from "../model/Member.js"
import { clampLimit } from "../model/Page.js"
import { now } from "../ports/Clock.js"
import { ConversationStore } from "../ports/ConversationStore.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { ConversationCommand } from "../rules/ConversationCommand.js"
import { canManageMembers, readableConversation } from "./Access.js"
import type { Caller } from "./Caller.js"
import { stamp } from "./Stamp.js"

export interface CreateConversationInput {
  readonly type: ConversationType
  readonly members: ReadonlyArray<UserId>
  readonly title?: string | undefined
  readonly metadata?: Metadata | undefined
}

/** The members of a new conversation: a user caller joins as owner; services and admins only set it up. */
const initialMembers = (caller: Caller, input: CreateConversationInput) => {
  const ids = new Set(input.members)
  if (!caller.isPrivileged) ids.add(caller.userId)
  if (input.type === "direct" && ids.size !== 2)
    return Effect.fail(
      new InvalidRequest({
        field: "members",
        message: caller.isPrivileged
          ? "a direct conversation needs exactly two distinct members"
          : "a direct conversation needs exactly one other member",
      }),
    )
  if (ids.size === 0)
    return Effect.fail(
      new InvalidRequest({ field: "members", message: "a conversation needs at least one member" }),
    )
  return Effect.succeed(
    [...ids].map((userId) => ({
      userId,
      role: (userId === caller.userId && !caller.isPrivileged && input.type === "group"
        ? "owner"
        : "member") as MemberRole,
    })),
  )
}

/** Creates a conversation; a direct one for an existing pair answers that one (`created: false`). */
export const createConversation = (caller: Caller, input: CreateConversationInput) =>
  Effect.gen(function* () {
    const members = yield* initialMembers(caller, input)
    const ids = yield* IdGenerator
    const at = yield* now
    const conversation = new Conversation({
      id: yield* ids.conversationId,
      tenantId: caller.tenantId,
      type: input.type,
      ...(input.title === undefined ? {} : { title: input.title }),
      metadata: input.metadata ?? {},
      members: members.map((m) => new Member({ ...m, joinedAt: at, readSeq: 0, deliveredSeq: 0 })),
      createdAt: at,
      updatedAt: at,
      lastSeq: 0,
    })
    const event = new ConversationCreated({
      id: yield* ids.eventId,
      tenantId: caller.tenantId,
      conversationId: conversation.id,
      at,
      type: "conversation.created",
      data: { conversation },
    })
    const store = yield* ConversationStore
    return yield* store.create(conversation, event)
  })

export const getConversation = readableConversation

export const listConversations = (
  caller: Caller,
  options: { readonly limit?: number | undefined; readonly cursor?: string | undefined },
) =>
  Effect.flatMap(ConversationStore, (store) =>
    store.listForUser(caller.tenantId, caller.userId, {
      limit: clampLimit(options.limit),
      cursor: options.cursor,
    }),
  )

export const addMember = (caller: Caller, conversationId: ConversationId, userId: UserId, role: MemberRole) =>
  Effect.gen(function* () {
    const conversation = yield* readableConversation(caller, conversationId)
    yield* canManageMembers(caller, conversation)
    if (role === "owner" && !caller.isPrivileged && conversation.member(caller.userId)?.role !== "owner")
      return yield* new InvalidRequest({ field: "role", message: "only an owner can add another owner" })
    const actor = yield* ConversationActor
    const result = yield* actor.execute(
      caller.tenantId,
      conversationId,
      ConversationCommand.AddMember({ userId, role, stamp: yield* stamp }),
    )
    if (result._tag !== "MemberAdded") return yield* Effect.dieMessage(`AddMember answered ${result._tag}`)
    return result
  })

/** Removes a member; any member may remove themselves (leave). */
export const removeMember = (caller: Caller, conversationId: ConversationId, userId: UserId) =>
  Effect.gen(function* () {
    const conversation = yield* readableConversation(caller, conversationId)
    if (userId !== caller.userId) yield* canManageMembers(caller, conversation)
    const actor = yield* ConversationActor
    const result = yield* actor.execute(
      caller.tenantId,
      conversationId,
      ConversationCommand.RemoveMember({ userId, stamp: yield* stamp }),
    )
    if (result._tag !== "MemberRemoved")
      return yield* Effect.dieMessage(`RemoveMember answered ${result._tag}`)
    return result
  })

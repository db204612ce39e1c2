import { Effect, Either } from "effect"
import type { Conversation } from "../model/Conversation.js"
import type { TenantId } from "../model/Ids.js"
import type { Message } from "../model/Message.js"
import { ConversationStore } from "../ports/ConversationStore.js"
import type { EventLog } from "../ports/EventLog.js"
import type { IdentityStore } from "../ports/IdentityStore.js"
import type { IdGenerator } from "../ports/IdGenerator.js"
import type { MessageStore } from "../ports/MessageStore.js"
import type { Outbox } from "../ports/Outbox.js"
import type { ConversationCommand } from "../rules/ConversationCommand.js"
import * as Fixtures from "./Fixtures.js"

/** The storage ports an adapter provides together (one commit is seen by all of them). */
export type Storage = ConversationStore | MessageStore | EventLog | Outbox | IdentityStore

/** What the storage suites run on: the adapter's storage plus an IdGenerator for fixtures. */
export type StorageEnv = Storage | IdGenerator

export const createConversation = (
  tenantId: TenantId,
  type: Conversation["type"],
  members: ReadonlyArray<string>,
) =>
  Effect.gen(function* () {
    const store = yield* ConversationStore
    const { conversation, event } = yield* Fixtures.newConversation(
      tenantId,
      type,
      members.map(Fixtures.user),
    )
    const created = yield* store.create(conversation, event)
    return created.conversation
  })

/** Commits and insists that every command succeeded. */
export const commitAll = (conversation: Conversation, commands: ReadonlyArray<ConversationCommand>) =>
  Effect.gen(function* () {
    const store = yield* ConversationStore
    const outcomes = yield* store.commit(conversation.tenantId, conversation.id, commands)
    return outcomes.map((o, i) => {
      if (Either.isLeft(o)) throw new Error(`command ${i} (${commands[i]?._tag}) failed: ${o.left._tag}`)
      return o.right
    })
  })

/** Sends `count` text messages from `sender`, one commit each, and returns them. */
export const sendMany = (conversation: Conversation, sender: string, count: number, prefix = "m") =>
  Effect.gen(function* () {
    const sent: Array<Message> = []
    for (let i = 1; i <= count; i++) {
      const command = yield* Fixtures.send(Fixtures.user(sender), `${prefix}${i}`, `${prefix} ${i}`)
      const [result] = yield* commitAll(conversation, [command])
      if (result?._tag !== "Sent") throw new Error("expected Sent")
      sent.push(result.message)
    }
    return sent
  })

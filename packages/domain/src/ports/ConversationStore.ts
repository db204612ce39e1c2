import { Context, type Effect, type Either, type Option } from "effect"
import type { Conversation } from "../model/Conversation.js"
import type { CommandError, ConversationNotFound, StoreUnavailable } from "../model/Errors.js"
import type { ConversationCreated } from "../model/Event.js"
import type { ConversationId, TenantId, UserId } from "../model/Ids.js"
import type { Message } from "../model/Message.js"
import type { Page } from "../model/Page.js"
import type { CommandResult, ConversationCommand } from "../rules/ConversationCommand.js"

/** A row of a user's conversation list. */
export interface ConversationSummary {
  readonly conversation: Conversation
  readonly lastMessage: Message | undefined
  /** Messages after the user's read horizon, not counting the user's own. */
  readonly unreadCount: number
}

export type CommitOutcome = Either.Either<CommandResult, CommandError>

/**
 * Conversations and the one write path into them.
 *
 * `commit` is the group commit: in one transaction it loads the state the commands need
 * (`ConversationDecider.needs`), decides them in order with `ConversationDecider.decideBatch`, and writes
 * the resulting events: messages with their gapless seq, horizons, delivery records and status history,
 * membership, the event log and the outbox. Order and idempotency across nodes rest on this transaction
 * (a lock on the conversation, unique keys), not on the in-process actor.
 */
export class ConversationStore extends Context.Tag("@chat4all/domain/ConversationStore")<
  ConversationStore,
  {
    /**
     * Creates a conversation with its members and writes its `conversation.created` event. A direct
     * conversation is unique per pair: when one exists, it is returned with `created: false`.
     */
    readonly create: (
      conversation: Conversation,
      event: ConversationCreated,
    ) => Effect.Effect<{ readonly conversation: Conversation; readonly created: boolean }, StoreUnavailable>
    readonly get: (
      tenantId: TenantId,
      conversationId: ConversationId,
    ) => Effect.Effect<Option.Option<Conversation>, StoreUnavailable>
    /** The user's conversations, latest activity first. */
    readonly listForUser: (
      tenantId: TenantId,
      userId: UserId,
      options: { readonly limit: number; readonly cursor: string | undefined },
    ) => Effect.Effect<Page<ConversationSummary>, StoreUnavailable>
    readonly commit: (
      tenantId: TenantId,
      conversationId: ConversationId,
      commands: ReadonlyArray<ConversationCommand>,
    ) => Effect.Effect<ReadonlyArray<CommitOutcome>, ConversationNotFound | StoreUnavailable>
  }
>() {}

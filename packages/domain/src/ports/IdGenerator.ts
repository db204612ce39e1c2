import { Context, type Effect } from "effect"
import type { ConversationId, EventId, MessageId } from "../model/Ids.js"

/**
 * Makes ids in the seed format `<13-digit ms>-<uuid v4>`: time-ordered to the millisecond, and unique
 * within one millisecond by the UUID's 122 random bits.
 */
export class IdGenerator extends Context.Tag("@chat4all/domain/IdGenerator")<
  IdGenerator,
  {
    readonly messageId: Effect.Effect<MessageId>
    readonly eventId: Effect.Effect<EventId>
    readonly conversationId: Effect.Effect<ConversationId>
  }
>() {}

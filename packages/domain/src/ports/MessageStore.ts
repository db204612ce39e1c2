import { Context, type Effect, type Option } from "effect"
import type { DeliveryRecord, StatusTransition } from "../model/Delivery.js"
import type { StoreUnavailable } from "../model/Errors.js"
import type { ConversationId, MessageId, TenantId } from "../model/Ids.js"
import type { Message } from "../model/Message.js"

/**
 * Reads of committed messages. Every `Message` returned carries its aggregate `status`, derived with
 * `MessageStatus.aggregate` from the members' horizons and the connector delivery records.
 */
export class MessageStore extends Context.Tag("@chat4all/domain/MessageStore")<
  MessageStore,
  {
    readonly get: (
      tenantId: TenantId,
      messageId: MessageId,
    ) => Effect.Effect<Option.Option<Message>, StoreUnavailable>
    /**
     * Messages by seq, ascending. `after`/`before` are exclusive bounds; with no `after`, the latest
     * `limit` messages below `before` (or of the whole conversation).
     */
    readonly list: (
      tenantId: TenantId,
      conversationId: ConversationId,
      options: {
        readonly after?: number | undefined
        readonly before?: number | undefined
        readonly limit: number
      },
    ) => Effect.Effect<ReadonlyArray<Message>, StoreUnavailable>
    /** The connector delivery records of a message (the app channel is derived from horizons). */
    readonly deliveries: (
      tenantId: TenantId,
      messageId: MessageId,
    ) => Effect.Effect<ReadonlyArray<DeliveryRecord>, StoreUnavailable>
    /** Every applied transition, oldest first; the first is the message's creation as `sent`. */
    readonly history: (
      tenantId: TenantId,
      messageId: MessageId,
    ) => Effect.Effect<ReadonlyArray<StatusTransition>, StoreUnavailable>
  }
>() {}

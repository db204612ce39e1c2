import { Context, type Effect, Schema } from "effect"
import type { StoreUnavailable } from "../model/Errors.js"
import type { Event } from "../model/Event.js"
import type { TenantId, UserId } from "../model/Ids.js"

export interface EventBatch {
  readonly events: ReadonlyArray<Event>
  /** Opaque; pass it back to continue after the last event returned. */
  readonly nextCursor: string
  readonly hasMore: boolean
}

/**
 * The committed events in one total order per tenant, read by cursor. A cursor never skips a committed
 * event, even when transactions commit out of the order they started in.
 *
 * A user sees the events of the conversations they are a member of now, and the `member.removed` event
 * that took them out of one.
 */
export class EventLog extends Context.Tag("@chat4all/domain/EventLog")<
  EventLog,
  {
    /** The cursor after the last committed event: where a new reader starts. */
    readonly head: (tenantId: TenantId) => Effect.Effect<string, StoreUnavailable>
    readonly since: (
      tenantId: TenantId,
      userId: UserId,
      cursor: string,
      limit: number,
    ) => Effect.Effect<EventBatch, StoreUnavailable | InvalidCursor>
  }
>() {}

/** A cursor this log did not hand out. */
export class InvalidCursor extends Schema.TaggedError<InvalidCursor>()("InvalidCursor", {
  cursor: Schema.String,
}) {
  readonly code = "invalid_request"
  override get message() {
    return `cursor ${JSON.stringify(this.cursor)} is not one this server handed out`
  }
}

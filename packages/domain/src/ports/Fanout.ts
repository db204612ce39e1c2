import { Context, type Effect, type Queue, Schema, type Scope } from "effect"
import type { Event } from "../model/Event.js"

/**
 * Carries committed events to every node's realtime edge. At least once and in order per conversation;
 * subscribers dedup by event id.
 */
export class Fanout extends Context.Tag("@chat4all/domain/Fanout")<
  Fanout,
  {
    readonly publish: (events: ReadonlyArray<Event>) => Effect.Effect<void, FanoutUnavailable>
    /** Every event published from now on, until the scope closes. */
    readonly subscribe: Effect.Effect<Queue.Dequeue<Event>, FanoutUnavailable, Scope.Scope>
  }
>() {}

export class FanoutUnavailable extends Schema.TaggedError<FanoutUnavailable>()("FanoutUnavailable", {
  operation: Schema.String,
  cause: Schema.Defect,
}) {
  readonly code = "fanout_unavailable"
}

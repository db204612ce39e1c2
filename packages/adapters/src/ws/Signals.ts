import { Ids, Presence } from "@chat4all/domain"
import { Context, Effect, Layer, PubSub, type Queue, Schema, type Scope } from "effect"

/** Someone started or stopped typing in a conversation. */
export const TypingSignal = Schema.TaggedStruct("typing", {
  tenantId: Ids.TenantId,
  conversationId: Ids.ConversationId,
  userId: Ids.UserId,
  state: Schema.Literal("start", "stop"),
})

/** A user's presence changed (a session opened or the last one closed). */
export const PresenceSignal = Schema.TaggedStruct("presence", {
  tenantId: Ids.TenantId,
  userId: Ids.UserId,
  status: Presence.PresenceStatus,
  lastSeen: Schema.optional(Schema.Number),
})

/** Ephemeral realtime signals: never stored, lost when nobody listens. */
export const Signal = Schema.Union(TypingSignal, PresenceSignal)
export type Signal = typeof Signal.Type

/**
 * Carries ephemeral signals (typing, presence) to every node's gateway, including the one that sent them.
 * Best effort: `publish` never fails, a signal that cannot be sent is dropped (and logged by the adapter).
 */
export class Signals extends Context.Tag("@chat4all/adapters/ws/Signals")<
  Signals,
  {
    readonly publish: (signal: Signal) => Effect.Effect<void>
    readonly subscribe: Effect.Effect<Queue.Dequeue<Signal>, never, Scope.Scope>
  }
>() {}

/** Signals within one process. */
export const layerMemory: Layer.Layer<Signals> = Layer.scoped(
  Signals,
  Effect.map(Effect.acquireRelease(PubSub.unbounded<Signal>(), PubSub.shutdown), (pubsub) =>
    Signals.of({
      publish: (signal) => PubSub.publish(pubsub, signal).pipe(Effect.asVoid),
      subscribe: PubSub.subscribe(pubsub),
    }),
  ),
)

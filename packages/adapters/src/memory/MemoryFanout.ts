import { type Event, Fanout } from "@chat4all/domain"
import { Effect, Layer, PubSub } from "effect"

/**
 * Fanout within one process. Unbounded so that publishing never blocks a relay; the realtime edge bounds
 * what each connection may buffer and resumes slow consumers from the event log.
 */
export const make = Effect.map(PubSub.unbounded<Event.Event>(), (pubsub) =>
  Fanout.Fanout.of({
    publish: (events) => PubSub.publishAll(pubsub, events).pipe(Effect.asVoid),
    subscribe: PubSub.subscribe(pubsub),
  }),
)

export const layer = Layer.effect(Fanout.Fanout, make)

import { SystemIdGenerator } from "@chat4all/adapters/system"
import {
  ConversationActor,
  type ConversationStore,
  type EventLog,
  type Fanout,
  type IdentityStore,
  type MessageStore,
  type Outbox,
  type Presence,
} from "@chat4all/domain"
import { Layer } from "effect"
import * as RateLimiter from "./http/RateLimiter.js"
import * as Server from "./http/Server.js"
import * as Health from "./observability/Health.js"
import * as OutboxRelay from "./workers/OutboxRelay.js"

/** What a storage choice provides: every port the app uses but the IdGenerator. */
export type Ports =
  | ConversationStore.ConversationStore
  | MessageStore.MessageStore
  | EventLog.EventLog
  | Outbox.Outbox
  | IdentityStore.IdentityStore
  | Presence.Presence
  | Fanout.Fanout

/**
 * The whole app over a storage layer: HTTP API, conversation actors, the outbox relay, health and rate
 * limits. It needs an `HttpServer` with its platform services (where to listen) and a `TokenVerifier`
 * (how tokens are checked).
 */
export const layer = <E, R>(
  storage: Layer.Layer<Ports, E, R>,
  options: { readonly databaseName: string },
) => {
  const core = Layer.mergeAll(
    ConversationActor.layerConfig,
    OutboxRelay.layer(),
    SystemIdGenerator.layer,
  ).pipe(Layer.provideMerge(storage))
  const edge = Layer.mergeAll(Health.layer(options), RateLimiter.layerConfig).pipe(Layer.provideMerge(core))
  return Server.layer.pipe(Layer.provide(edge))
}

import { SystemIdGenerator } from "@chat4all/adapters/system"
import { HttpSender } from "@chat4all/adapters/webhooks-http"
import {
  type ConnectorOutbox,
  type ConnectorSettingsStore,
  ConversationActor,
  type ConversationStore,
  type EventLog,
  type Fanout,
  type FileStore,
  type IdentityStore,
  type MessageStore,
  type Outbox,
  OutboxRelay,
  type Presence,
  type ProviderRefs,
  type WebhookStore,
} from "@chat4all/domain"
import { Layer } from "effect"
import * as Connectors from "./connectors/index.js"
import * as Files from "./files/index.js"
import * as RateLimiter from "./http/RateLimiter.js"
import * as Server from "./http/Server.js"
import * as Health from "./observability/Health.js"
import { Realtime } from "./realtime/index.js"
import * as WebhookWorker from "./workers/WebhookWorker.js"

/** What a storage choice provides: every port the app uses but the IdGenerator. */
export type Ports =
  | ConversationStore.ConversationStore
  | MessageStore.MessageStore
  | EventLog.EventLog
  | Outbox.Outbox
  | IdentityStore.IdentityStore
  | Presence.Presence
  | Fanout.Fanout
  | FileStore.FileStore
  | WebhookStore.WebhookStore
  | ConnectorSettingsStore.ConnectorSettingsStore
  | ProviderRefs.ProviderRefs
  | ConnectorOutbox.ConnectorOutbox

/**
 * The engine over a storage layer: the outbox relay (woken by every commit of this node), the
 * conversation actors writing through the nudging store, and the IdGenerator.
 */
export const core = <E, R>(storage: Layer.Layer<Ports, E, R>) => {
  const withRelay = OutboxRelay.layer().pipe(Layer.provideMerge(storage))
  const nudging = OutboxRelay.nudgeOnCommit.pipe(Layer.provide(withRelay))
  // The nudging ConversationStore replaces the plain one for everything downstream.
  const ports = Layer.merge(withRelay, nudging)
  return Layer.mergeAll(ConversationActor.layerConfig, SystemIdGenerator.layer).pipe(
    Layer.provideMerge(ports),
  )
}

/**
 * The whole app over a storage layer: the engine, the HTTP API, health and rate limits. It needs an
 * `HttpServer` with its platform services (where to listen) and a `TokenVerifier` (how tokens are
 * checked).
 */
export const layer = <E, R>(
  storage: Layer.Layer<Ports, E, R>,
  options: { readonly databaseName: string },
) => {
  // Outbound webhooks: the sender (SSRF guard, signing) for the API and the worker that delivers.
  const webhooks = WebhookWorker.layerConfig.pipe(Layer.provideMerge(HttpSender.layerConfig))
  // Channel connectors: their settings per tenant, and the worker that routes and delivers through them.
  const edge = Layer.mergeAll(
    Health.layer(options),
    RateLimiter.layerConfig,
    webhooks,
    Connectors.layer,
  ).pipe(Layer.provideMerge(core(storage)))
  // The WebSocket gateway (/v1/ws) beside the HTTP API, on the same engine and rate limiter.
  return Layer.merge(Server.layer, Realtime.layer).pipe(Layer.provide(Files.layer), Layer.provide(edge))
}

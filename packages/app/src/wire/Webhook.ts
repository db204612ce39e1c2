import type { Event as DomainEvent, Webhook as DomainWebhook } from "@chat4all/domain"
import { Schema } from "effect"
import { Iso, iso } from "./Common.js"
import { Event, fromEvent } from "./Event.js"

export const WebhookStatus = Schema.Literal("active", "disabled").annotations({
  description: "`disabled` after the endpoint answered 410 Gone: nothing more is sent to it",
})

const webhookFields = {
  id: Schema.String,
  url: Schema.String.annotations({ description: "Where events are POSTed (normalised)" }),
  events: Schema.Array(Schema.String).annotations({ description: "Event types it receives; `*` for all" }),
  description: Schema.optional(Schema.String),
  status: WebhookStatus,
  disabledReason: Schema.optional(Schema.String),
  previousSecretExpiresAt: Schema.optional(
    Iso.annotations({ description: "After a rotation: until when the previous secret signs as well" }),
  ),
  createdAt: Iso,
  updatedAt: Iso,
}

/** An endpoint, without its secret (shown only when made or rotated). */
export const Webhook = Schema.Struct(webhookFields).annotations({ identifier: "Webhook" })
export type Webhook = typeof Webhook.Type

/** An endpoint with its new signing secret: the only time the secret is shown. */
export const WebhookWithSecret = Schema.Struct({
  ...webhookFields,
  secret: Schema.String.annotations({
    description:
      "`whsec_` + base64 of 32 random bytes; verify `webhook-signature` with it (Standard Webhooks). Shown once.",
  }),
}).annotations({ identifier: "WebhookWithSecret" })
export type WebhookWithSecret = typeof WebhookWithSecret.Type

export const WebhookAttempt = Schema.Struct({
  at: Iso,
  durationMs: Schema.Number,
  statusCode: Schema.optional(
    Schema.Int.annotations({ description: "The receiver's answer, when it answered" }),
  ),
  error: Schema.optional(
    Schema.String.annotations({ description: "Why there was no answer (timeout, refused address, ...)" }),
  ),
}).annotations({ identifier: "WebhookAttempt" })

export const WebhookDelivery = Schema.Struct({
  id: Schema.String.annotations({
    description: "The event id, which is also the `webhook-id` of every attempt",
  }),
  webhookId: Schema.String,
  eventId: Schema.String,
  eventType: Schema.String,
  status: Schema.Literal("pending", "succeeded", "failed"),
  attempts: Schema.Array(WebhookAttempt).annotations({ description: "Every attempt, oldest first" }),
  nextAttemptAt: Schema.optional(Iso.annotations({ description: "When a pending delivery is tried next" })),
  createdAt: Iso,
  updatedAt: Iso,
}).annotations({ identifier: "WebhookDelivery" })
export type WebhookDelivery = typeof WebhookDelivery.Type

export const fromWebhook = (endpoint: DomainWebhook.WebhookEndpoint): Webhook => ({
  id: endpoint.id,
  url: endpoint.url,
  events: endpoint.events,
  ...(endpoint.description === undefined ? {} : { description: endpoint.description }),
  status: endpoint.status,
  ...(endpoint.disabledReason === undefined ? {} : { disabledReason: endpoint.disabledReason }),
  ...(endpoint.previousSecretExpiresAt === undefined
    ? {}
    : { previousSecretExpiresAt: iso(endpoint.previousSecretExpiresAt) }),
  createdAt: iso(endpoint.createdAt),
  updatedAt: iso(endpoint.updatedAt),
})

export const withSecret = (made: {
  readonly endpoint: DomainWebhook.WebhookEndpoint
  readonly secret: DomainWebhook.WebhookSecret
}): WebhookWithSecret => ({ ...fromWebhook(made.endpoint), secret: made.secret })

export const fromDelivery = (delivery: DomainWebhook.WebhookDelivery): WebhookDelivery => ({
  id: delivery.id,
  webhookId: delivery.webhookId,
  eventId: delivery.id,
  eventType: delivery.eventType,
  status: delivery.status,
  attempts: delivery.attempts.map((a) => ({
    at: iso(a.at),
    durationMs: a.durationMs,
    ...(a.statusCode === undefined ? {} : { statusCode: a.statusCode }),
    ...(a.error === undefined ? {} : { error: a.error }),
  })),
  ...(delivery.nextAttemptAt === undefined ? {} : { nextAttemptAt: iso(delivery.nextAttemptAt) }),
  createdAt: iso(delivery.createdAt),
  updatedAt: iso(delivery.updatedAt),
})

const encodeEvent = Schema.encodeSync(Event)

/**
 * The body of a webhook: the event exactly as the HTTP API (sync) and the WebSocket put it on the wire,
 * through the same encoder, as compact JSON.
 */
export const body = (event: DomainEvent.Event): string => JSON.stringify(encodeEvent(fromEvent(event)))

import { Redacted, Schema } from "effect"
import type { EventType } from "./Event.js"
import { EventId, TenantId } from "./Ids.js"

/**
 * Outbound webhooks (Standard Webhooks): endpoints a tenant registers, and the deliveries of its events to
 * them with every attempt. The signing scheme and the HTTP calls live behind the `WebhookSender` port.
 */

/** Webhook ids are opaque ids like the others (API.md): 1-128 chars of `[A-Za-z0-9._:-]`. */
export const WebhookId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9._:-]{1,128}$/, {
    message: () => "must be 1-128 characters of A-Z a-z 0-9 . _ : -",
  }),
  Schema.brand("WebhookId"),
)
export type WebhookId = typeof WebhookId.Type

/** Every event type an endpoint may subscribe to. */
export const eventTypes: ReadonlyArray<EventType> = [
  "message.created",
  "message.status",
  "conversation.created",
  "conversation.updated",
  "member.added",
  "member.removed",
  "receipt.delivered",
  "receipt.read",
]

/** One entry of an endpoint's filter: an event type, or `*` for all of them. */
export const EventFilterEntry = Schema.Literal("*", ...(eventTypes as [EventType, ...Array<EventType>]))
export type EventFilterEntry = typeof EventFilterEntry.Type

/** The event types an endpoint receives: at least one entry, each an event type or `*`. */
export const EventFilter = Schema.Array(EventFilterEntry).pipe(
  Schema.minItems(1, { message: () => "must list at least one event type (or `*` for all)" }),
  Schema.maxItems(eventTypes.length + 1, {
    message: () => `must list at most ${eventTypes.length + 1} entries`,
  }),
)
export type EventFilter = typeof EventFilter.Type

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** How many bytes a well-formed base64 string decodes to. */
const decodedLength = (base64: string): number =>
  (base64.length / 4) * 3 - (base64.endsWith("==") ? 2 : base64.endsWith("=") ? 1 : 0)

export const secretPrefix = "whsec_"
export const minSecretBytes = 24
export const maxSecretBytes = 64

/** A signing secret: `whsec_` and the base64 of 24-64 random bytes (Standard Webhooks). */
export const WebhookSecret = Schema.String.pipe(
  Schema.filter(
    (s) => {
      if (!s.startsWith(secretPrefix)) return `must start with ${secretPrefix}`
      const key = s.slice(secretPrefix.length)
      if (!base64Pattern.test(key) || key.length === 0) return `must be ${secretPrefix} followed by base64`
      const bytes = decodedLength(key)
      return bytes >= minSecretBytes && bytes <= maxSecretBytes
        ? true
        : `must encode ${minSecretBytes}-${maxSecretBytes} bytes, not ${bytes}`
    },
    { identifier: "WebhookSecret" },
  ),
  Schema.brand("WebhookSecret"),
)
export type WebhookSecret = typeof WebhookSecret.Type

export const WebhookStatus = Schema.Literal("active", "disabled")
export type WebhookStatus = typeof WebhookStatus.Type

/** How long the previous secret keeps signing after a rotation: both signatures go out meanwhile. */
export const rotationOverlapMs = 24 * 60 * 60 * 1000

/** The longest URL an endpoint may have. */
export const maxUrlLength = 2048
export const maxDescriptionLength = 512

/**
 * A registered endpoint. `secret` signs every delivery; after a rotation `previousSecret` signs as well
 * until `previousSecretExpiresAt`. Secrets are `Redacted`, so that a logged endpoint shows no secret.
 */
export class WebhookEndpoint extends Schema.Class<WebhookEndpoint>("WebhookEndpoint")({
  id: WebhookId,
  tenantId: TenantId,
  url: Schema.String,
  events: EventFilter,
  description: Schema.optional(Schema.String),
  status: WebhookStatus,
  /** Why the endpoint was disabled (it answered 410 Gone). */
  disabledReason: Schema.optional(Schema.String),
  secret: Schema.RedactedFromSelf(WebhookSecret),
  previousSecret: Schema.optional(Schema.RedactedFromSelf(WebhookSecret)),
  previousSecretExpiresAt: Schema.optional(Schema.Number),
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
}) {
  /** The secrets that sign a delivery made at `now`: the current one first, then the previous one if it still signs. */
  signingSecrets(now: number): ReadonlyArray<WebhookSecret> {
    const secrets = [Redacted.value(this.secret)]
    if (
      this.previousSecret !== undefined &&
      this.previousSecretExpiresAt !== undefined &&
      now < this.previousSecretExpiresAt
    )
      secrets.push(Redacted.value(this.previousSecret))
    return secrets
  }
}

/** One try to deliver: when, how long it took, and the status code or the error that stopped it. */
export class WebhookAttempt extends Schema.Class<WebhookAttempt>("WebhookAttempt")({
  at: Schema.Number,
  durationMs: Schema.Number,
  statusCode: Schema.optional(Schema.Int),
  error: Schema.optional(Schema.String),
}) {}

export const DeliveryStatus = Schema.Literal("pending", "succeeded", "failed")
export type DeliveryStatus = typeof DeliveryStatus.Type

/**
 * One event for one endpoint, with every attempt, oldest first. Its id is the event id, which is also the
 * `webhook-id` header of every attempt, so that receivers dedup retries and replays by it.
 */
export class WebhookDelivery extends Schema.Class<WebhookDelivery>("WebhookDelivery")({
  id: EventId,
  tenantId: TenantId,
  webhookId: WebhookId,
  eventType: Schema.String,
  status: DeliveryStatus,
  attempts: Schema.Array(WebhookAttempt),
  /** When the next attempt is due, for a pending delivery. */
  nextAttemptAt: Schema.optional(Schema.Number),
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
}) {}

export class WebhookNotFound extends Schema.TaggedError<WebhookNotFound>()("WebhookNotFound", {
  webhookId: Schema.String,
}) {
  readonly code = "webhook_not_found"
  override get message() {
    return `webhook ${this.webhookId} not found`
  }
}

export class WebhookDeliveryNotFound extends Schema.TaggedError<WebhookDeliveryNotFound>()(
  "WebhookDeliveryNotFound",
  { webhookId: Schema.String, deliveryId: Schema.String },
) {
  readonly code = "delivery_not_found"
  override get message() {
    return `delivery ${this.deliveryId} of webhook ${this.webhookId} not found`
  }
}

/** A replay asked of an endpoint that was disabled (it answered 410 Gone). */
export class WebhookDisabled extends Schema.TaggedError<WebhookDisabled>()("WebhookDisabled", {
  webhookId: Schema.String,
  reason: Schema.String,
}) {
  readonly code = "webhook_disabled"
  override get message() {
    return `webhook ${this.webhookId} is disabled (${this.reason}); register the endpoint again to resume deliveries`
  }
}

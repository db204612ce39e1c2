import { Schema } from "effect"

/**
 * Why a send failed, in words a delivery worker can act on:
 *
 * - `network`, `timeout`: no answer; the provider may or may not have accepted the message (retryable).
 * - `rate_limited`: the provider asked us to slow down; `retryAfterMs` says for how long when it said so.
 * - `provider_unavailable`: a 5xx or a provider error it marks as transient (retryable).
 * - `unauthorized`: the credentials were refused (not retryable until an operator fixes the settings).
 * - `rejected`: the provider refused this message (bad address, blocked recipient, policy...).
 * - `bad_response`: a 2xx the connector could not read; the message may be out, so it is not retried.
 * - `redirect`: the provider answered 3xx; connectors never follow redirects with credentials attached.
 * - `invalid_address`, `content_unsupported`, `text_too_long`: refused before calling the provider.
 * - `disabled`: the tenant turned the connector off.
 */
export const SendFailureReason = Schema.Literal(
  "network",
  "timeout",
  "rate_limited",
  "provider_unavailable",
  "unauthorized",
  "rejected",
  "bad_response",
  "redirect",
  "invalid_address",
  "content_unsupported",
  "text_too_long",
  "disabled",
)
export type SendFailureReason = typeof SendFailureReason.Type

/**
 * A send (or a probe) that did not go through. `retryable` is the connector's verdict: true for network
 * errors, timeouts, 5xx, 429 and provider errors the provider itself calls transient; false for anything
 * a retry cannot fix. `retryAfterMs` carries the provider's own hint (HTTP `Retry-After`, Telegram's
 * `parameters.retry_after`), which a worker should honour over its own backoff when it is longer.
 */
export class ConnectorError extends Schema.TaggedError<ConnectorError>()("ConnectorError", {
  connector: Schema.String,
  reason: SendFailureReason,
  retryable: Schema.Boolean,
  detail: Schema.String,
  /** The provider's HTTP status, when it answered. */
  status: Schema.optional(Schema.Number),
  /** The provider's own error code (`131026`, `error_code`), when it gave one. */
  providerCode: Schema.optional(Schema.String),
  retryAfterMs: Schema.optional(Schema.Number),
}) {
  readonly code = "connector_error"
  override get message() {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    const retry = this.retryable
      ? this.retryAfterMs === undefined
        ? "; retryable"
        : `; retryable after ${Math.ceil(this.retryAfterMs / 1000)} s`
      : "; not retryable"
    return `${this.connector}: ${this.reason}${status}: ${this.detail}${retry}`
  }
}

/** A webhook whose signature or secret token is missing or wrong. Nothing in it may be trusted. */
export class InvalidSignature extends Schema.TaggedError<InvalidSignature>()("InvalidSignature", {
  connector: Schema.String,
  reason: Schema.Literal("missing", "malformed", "mismatch"),
  /** The header the provider signs with, so an operator knows what to look for. */
  header: Schema.String,
}) {
  readonly code = "invalid_signature"
  override get message() {
    const what =
      this.reason === "missing"
        ? "is missing"
        : this.reason === "malformed"
          ? "is not in the provider's format"
          : "does not match (wrong secret or altered body)"
    return `${this.connector} webhook rejected: ${this.header} ${what}`
  }
}

/** A webhook that passed verification but whose body is not what the provider documents. */
export class MalformedWebhook extends Schema.TaggedError<MalformedWebhook>()("MalformedWebhook", {
  connector: Schema.String,
  detail: Schema.String,
}) {
  readonly code = "malformed_webhook"
  override get message() {
    return `${this.connector} webhook body is malformed: ${this.detail}`
  }
}

/** A subscription handshake that must not be answered: wrong or missing verify token, unknown mode. */
const handshakeReasons = {
  not_a_handshake: "the request is not a subscription handshake",
  wrong_mode: "hub.mode is not 'subscribe'",
  missing_token: "hub.verify_token is missing",
  wrong_token: "hub.verify_token does not match the configured verify token",
  missing_challenge: "hub.challenge is missing",
  bad_challenge: "hub.challenge is not 1-256 characters of A-Z a-z 0-9 . _ -",
} as const

export class HandshakeRejected extends Schema.TaggedError<HandshakeRejected>()("HandshakeRejected", {
  connector: Schema.String,
  reason: Schema.Literal(
    "not_a_handshake",
    "wrong_mode",
    "missing_token",
    "wrong_token",
    "missing_challenge",
    "bad_challenge",
  ),
}) {
  readonly code = "handshake_rejected"
  override get message() {
    return `${this.connector} handshake rejected: ${handshakeReasons[this.reason]}`
  }
}

/** An address that is not valid on the channel (a phone number with letters, a non-numeric chat id...). */
export class InvalidAddress extends Schema.TaggedError<InvalidAddress>()("InvalidAddress", {
  connector: Schema.String,
  address: Schema.String,
  expected: Schema.String,
}) {
  readonly code = "invalid_address"
  override get message() {
    return `${this.connector}: ${JSON.stringify(this.address)} is not a valid address; expected ${this.expected}`
  }
}

/** Connector settings that do not decode; `field` is the path of the first problem (`accessToken`). */
export class InvalidSettings extends Schema.TaggedError<InvalidSettings>()("InvalidSettings", {
  connector: Schema.String,
  field: Schema.String,
  detail: Schema.String,
}) {
  readonly code = "invalid_request"
  override get message() {
    return `${this.connector} settings are invalid: ${this.detail}`
  }
}

/** No connector of that name is registered. */
export class UnknownConnector extends Schema.TaggedError<UnknownConnector>()("UnknownConnector", {
  name: Schema.String,
  known: Schema.Array(Schema.String),
}) {
  readonly code = "connector_not_found"
  override get message() {
    return `no connector named ${JSON.stringify(this.name)}; known: ${this.known.join(", ") || "none"}`
  }
}

/** The errors `inbound` can end with. */
export type InboundError = InvalidSignature | MalformedWebhook

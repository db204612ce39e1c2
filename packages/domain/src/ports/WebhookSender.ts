import { Context, type Effect, Schema } from "effect"
import type { WebhookSecret } from "../model/Webhook.js"

/** One signed POST of an event to an endpoint. */
export interface SendRequest {
  readonly url: string
  /** The `webhook-id`: the event id, the same on every attempt. */
  readonly webhookId: string
  /** The `webhook-timestamp`, in unix seconds. */
  readonly timestamp: number
  /** The exact bytes that are signed and sent. */
  readonly body: string
  /** Each signs the request; the current secret first (two during a rotation). */
  readonly secrets: ReadonlyArray<WebhookSecret>
}

/** What came of a send: the receiver's status code, or why there was none (timeout, refused address, ...). */
export type SendOutcome =
  | {
      readonly _tag: "Answered"
      readonly statusCode: number
      readonly durationMs: number
      readonly note?: string
    }
  | { readonly _tag: "NoAnswer"; readonly error: string; readonly durationMs: number }

/** A URL the engine refuses to call: not http(s), credentials in it, or an address it must not reach. */
export class UnsafeWebhookUrl extends Schema.TaggedError<UnsafeWebhookUrl>()("UnsafeWebhookUrl", {
  url: Schema.String,
  reason: Schema.String,
}) {
  readonly code = "invalid_request"
  override get message() {
    return this.reason
  }
}

/**
 * Sends webhooks: the signing scheme (Standard Webhooks), the HTTP call, and the guard that keeps the
 * engine from calling addresses it must not reach (SSRF), at registration and on every send.
 */
export class WebhookSender extends Context.Tag("@chat4all/domain/WebhookSender")<
  WebhookSender,
  {
    /** The URL as it will be called (normalised), or why it is refused. */
    readonly check: (url: string) => Effect.Effect<string, UnsafeWebhookUrl>
    /** A fresh signing secret. */
    readonly newSecret: Effect.Effect<WebhookSecret>
    /** Signs and POSTs; never fails: the outcome says what happened. */
    readonly send: (request: SendRequest) => Effect.Effect<SendOutcome>
  }
>() {}

import { Schema } from "effect"

/** Text as the person wrote it. */
export const InboundText = Schema.Struct({
  type: Schema.Literal("text"),
  text: Schema.String,
})

/**
 * A picture, recording, video, document or sticker, held by the provider. `providerMediaId` is what the
 * provider's media API downloads it by; the engine decides whether and when to fetch it.
 */
export const InboundMedia = Schema.Struct({
  type: Schema.Literal("media"),
  kind: Schema.Literal("image", "video", "audio", "voice", "document", "sticker"),
  providerMediaId: Schema.String,
  mimeType: Schema.optional(Schema.String),
  fileName: Schema.optional(Schema.String),
  caption: Schema.optional(Schema.String),
})

/** Something the connector recognises as a message but cannot represent (a location, a contact card...). */
export const InboundUnsupported = Schema.Struct({
  type: Schema.Literal("unsupported"),
  kind: Schema.String,
})

export const InboundContent = Schema.Union(InboundText, InboundMedia, InboundUnsupported)
export type InboundContent = typeof InboundContent.Type

/**
 * A message a person sent to the tenant on a channel. `providerMessageId` is stable: a redelivered webhook
 * carries the same one, so storing inbound messages under a unique `(connector, providerMessageId)`
 * deduplicates them. `from` is the sender's address in the connector's canonical form
 * (`connector.normalizeAddress(from)` returns it unchanged), ready for `IdentityStore.findByAddress`.
 */
export class InboundMessage extends Schema.TaggedClass<InboundMessage>()("InboundMessage", {
  connector: Schema.String,
  providerMessageId: Schema.String,
  from: Schema.String,
  /** The name the person shows on the channel, when the provider sends one. */
  senderName: Schema.optional(Schema.String),
  /** The tenant's own account that received it: phone number id, Instagram account id, bot chat. */
  account: Schema.optional(Schema.String),
  content: InboundContent,
  /** The provider's timestamp of the message, epoch milliseconds. */
  at: Schema.Number,
  /** The provider message id this one replies to, when the person replied to a message. */
  replyToProviderMessageId: Schema.optional(Schema.String),
  /** The provider's id of the webhook event itself (Telegram `update_id`), for logs. */
  providerEventId: Schema.optional(Schema.String),
}) {}

/** The statuses a provider reports for a message we sent. */
export const ProviderStatus = Schema.Literal("sent", "delivered", "read", "failed")
export type ProviderStatus = typeof ProviderStatus.Type

/**
 * A provider's report on a message we sent: `providerMessageId` is the reference `send` returned for it.
 * Callbacks arrive late, twice and out of order; the domain's delivery state machine absorbs that
 * (`Deliveries.applyDeliveryUpdate` never moves a status backwards).
 */
export class StatusUpdate extends Schema.TaggedClass<StatusUpdate>()("StatusUpdate", {
  connector: Schema.String,
  providerMessageId: Schema.String,
  status: ProviderStatus,
  /** The provider's timestamp of the transition, epoch milliseconds. */
  at: Schema.Number,
  /** The recipient's address as the provider names it, when it does. */
  recipient: Schema.optional(Schema.String),
  /** Why it failed, in the provider's words (`131026: Message undeliverable`). */
  detail: Schema.optional(Schema.String),
}) {}

export const InboundEvent = Schema.Union(InboundMessage, StatusUpdate)
export type InboundEvent = typeof InboundEvent.Type

/**
 * What one verified webhook carried. `ignored` names each item the connector deliberately skipped
 * (an edited message, a reaction, an event for another account) so operators can see it in logs.
 */
export interface InboundBatch {
  readonly events: ReadonlyArray<InboundEvent>
  readonly ignored: ReadonlyArray<string>
}

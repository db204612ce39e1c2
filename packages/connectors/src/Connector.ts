import type { ChannelIdentity, Content, Ids } from "@chat4all/domain"
import type { Effect, Either } from "effect"
import type { ConnectorError, HandshakeRejected, InboundError, InvalidAddress } from "./ConnectorError.js"
import type { InboundBatch, ProviderStatus } from "./InboundEvent.js"
import type { WebhookRequest } from "./WebhookRequest.js"

/**
 * What a connector can carry. It is the domain's `ConnectorCapabilities` (which the routing plan reads
 * to skip what a connector cannot carry) plus `receipts`: the statuses the provider reports back after a
 * send. A status not listed is never reported, so a delivery through this connector stops below it
 * (Telegram reports none: its deliveries end at `sent`).
 */
export interface Capabilities extends ChannelIdentity.ConnectorCapabilities {
  readonly receipts: ReadonlyArray<Exclude<ProviderStatus, "sent">>
}

/** One message to one recipient: what a delivery worker hands to `send`. */
export interface OutboundDelivery {
  /** The engine's message id; connectors use it in logs and spans only (providers have no idempotency key). */
  readonly messageId: Ids.MessageId
  /** The recipient's address on the channel, as stored in their channel identity. */
  readonly address: string
  readonly content: Content.Content
}

/** The provider's acceptance of a send. */
export interface SendReceipt {
  /**
   * The provider's id for the message. Status callbacks name the message by it: store it with the
   * delivery so a `StatusUpdate` finds its (message, recipient, channel).
   */
  readonly providerMessageId: string
  /**
   * The recipient as the provider resolved it, when it says (WhatsApp's `wa_id`, which can differ from
   * the number sent to). Inbound messages from this person carry this address.
   */
  readonly recipient?: string | undefined
}

/** What the app answers the provider with. */
export interface WebhookResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * The formal connector interface. A connector is one tenant's configured link to one provider: it is
 * built from that tenant's settings by its factory (see `Registry`), holds no connections and no state,
 * and every method is safe to call concurrently.
 *
 * - `send` delivers one message and returns the provider's reference, or a `ConnectorError` whose
 *   `retryable` tells the worker whether to try again (and `retryAfterMs` how long to wait at least).
 * - `inbound` verifies a provider webhook (signature or secret token, in constant time) before reading a
 *   byte of it, then parses it into inbound messages and status updates.
 * - `handshake` answers the provider's subscription check (Meta's `hub.challenge`); connectors whose
 *   provider has none leave it out.
 * - `probe` checks the credentials against the provider (health in `GET /v1/connectors`).
 */
export interface Connector {
  /** The registry name (`whatsapp`); also the channel name of the identities it serves. */
  readonly name: string
  readonly capabilities: Capabilities
  /**
   * The canonical form of an address on this channel, or why it is not one. The identities endpoint
   * stores addresses in this form and inbound messages carry it, so `findByAddress` matches them.
   */
  readonly normalizeAddress: (address: string) => Either.Either<string, InvalidAddress>
  readonly send: (delivery: OutboundDelivery) => Effect.Effect<SendReceipt, ConnectorError>
  readonly inbound: (request: WebhookRequest) => Effect.Effect<InboundBatch, InboundError>
  readonly handshake?:
    | ((request: WebhookRequest) => Effect.Effect<WebhookResponse, HandshakeRejected>)
    | undefined
  readonly probe: Effect.Effect<void, ConnectorError>
}

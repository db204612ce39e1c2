import { Context, type Effect } from "effect"
import type { ConnectorCapabilities } from "../model/ChannelIdentity.js"
import type { Content } from "../model/Content.js"
import type { StoreUnavailable } from "../model/Errors.js"
import type { MessageId, TenantId } from "../model/Ids.js"

/** What came of one send through a connector. */
export type SendOutcome =
  | {
      readonly _tag: "Sent"
      /** The provider's id for the message; its status callbacks name it so. */
      readonly providerMessageId: string
      /** The recipient as the provider resolved it, when it differs from the address sent to. */
      readonly recipient?: string | undefined
    }
  | {
      readonly _tag: "Failed"
      /** Whether trying again can help (network, timeout, 5xx, 429) or not (refused, invalid, disabled). */
      readonly retryable: boolean
      /** The provider's own wait before a retry, when it gave one. */
      readonly retryAfterMs?: number | undefined
      /** What went wrong, for the status history and the logs (never a secret). */
      readonly detail: string
    }

/**
 * The tenants' configured connectors, as routing and delivery see them. The app implements it over the
 * connector registry and the tenants' stored settings; the domain never sees a provider.
 */
export class ChannelConnectors extends Context.Tag("@chat4all/domain/ChannelConnectors")<
  ChannelConnectors,
  {
    /** What each of the tenant's configured connectors can carry, enabled or not. */
    readonly capabilities: (
      tenantId: TenantId,
    ) => Effect.Effect<ReadonlyArray<ConnectorCapabilities>, StoreUnavailable>
    /** Sends one message to one address through the tenant's connector for `channel`. */
    readonly send: (
      tenantId: TenantId,
      channel: string,
      delivery: { readonly messageId: MessageId; readonly address: string; readonly content: Content },
    ) => Effect.Effect<SendOutcome, StoreUnavailable>
  }
>() {}

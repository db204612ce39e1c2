import { Context, type Effect, type Option } from "effect"
import type { ChannelName } from "../model/Delivery.js"
import type { StoreUnavailable } from "../model/Errors.js"
import type { MessageId, TenantId, UserId } from "../model/Ids.js"

/**
 * What a provider's message id stands for in the engine.
 *
 * - `outbound`: a message the engine sent to `userId` on `channel`; status callbacks name it by this id.
 * - `inbound`: a message a person sent in, which became `messageId` with `userId` (the contact) as sender.
 *   Being unique per (tenant, connector, provider message id), it is what makes inbound messages exactly
 *   once: a redelivered webhook finds its id taken.
 */
export interface ProviderRef {
  readonly tenantId: TenantId
  readonly connector: ChannelName
  readonly providerMessageId: string
  readonly direction: "outbound" | "inbound"
  readonly messageId: MessageId
  readonly userId: UserId
  readonly channel: ChannelName
  readonly createdAt: number
}

/** Provider message ids, unique per tenant and connector. */
export class ProviderRefs extends Context.Tag("@chat4all/domain/ProviderRefs")<
  ProviderRefs,
  {
    /** Records a reference; false (and nothing changes) when that provider id is already recorded. */
    readonly record: (ref: ProviderRef) => Effect.Effect<boolean, StoreUnavailable>
    readonly find: (
      tenantId: TenantId,
      connector: string,
      providerMessageId: string,
    ) => Effect.Effect<Option.Option<ProviderRef>, StoreUnavailable>
  }
>() {}

import { Context, type Effect } from "effect"
import type { ChannelIdentity } from "../model/ChannelIdentity.js"
import type { StoreUnavailable } from "../model/Errors.js"
import type { TenantId, UserId } from "../model/Ids.js"

/** Channel identities: one address per user and channel. */
export class IdentityStore extends Context.Tag("@chat4all/domain/IdentityStore")<
  IdentityStore,
  {
    /** Creates or replaces the user's identity on that channel. */
    readonly put: (identity: ChannelIdentity) => Effect.Effect<ChannelIdentity, StoreUnavailable>
    readonly list: (
      tenantId: TenantId,
      userIds: ReadonlyArray<UserId>,
    ) => Effect.Effect<ReadonlyArray<ChannelIdentity>, StoreUnavailable>
    /** The user owning an address on a channel (inbound messages find their contact this way). */
    readonly findByAddress: (
      tenantId: TenantId,
      channel: string,
      address: string,
    ) => Effect.Effect<ChannelIdentity | undefined, StoreUnavailable>
    /** True when there was something to remove. */
    readonly remove: (
      tenantId: TenantId,
      userId: UserId,
      channel: string,
    ) => Effect.Effect<boolean, StoreUnavailable>
  }
>() {}

import { Schema } from "effect"
import { ChannelName } from "./Delivery.js"
import { TenantId, UserId } from "./Ids.js"

/**
 * The user a tenant's inbound provider messages are addressed to when its connector settings do not
 * name one: each person who writes in gets a direct conversation with this user, and the tenant's agents
 * answer there (a service token acting as this user, `X-Chat4All-User: inbox`).
 */
export const defaultInboxUserId = UserId.make("inbox")

/**
 * A tenant's configuration of one connector. `settings` is the connector's own settings in their stored
 * form (the connector package validates them; secrets in clear, so a store must keep them sealed at rest);
 * `enabled` repeats the settings' flag so that routing can skip a disabled connector without building it.
 */
export class ConnectorConfig extends Schema.Class<ConnectorConfig>("ConnectorConfig")({
  tenantId: TenantId,
  connector: ChannelName,
  enabled: Schema.Boolean,
  settings: Schema.Unknown,
  inboxUserId: UserId,
  createdAt: Schema.Number,
  updatedAt: Schema.Number,
}) {}

/** The tenant has not configured this connector (or it does not exist). */
export class ConnectorNotConfigured extends Schema.TaggedError<ConnectorNotConfigured>()(
  "ConnectorNotConfigured",
  { connector: Schema.String },
) {
  readonly code = "connector_not_found"
  override get message() {
    return `the ${this.connector} connector is not configured for this tenant`
  }
}

/** No identity of that user on that channel. */
export class IdentityNotFound extends Schema.TaggedError<IdentityNotFound>()("IdentityNotFound", {
  userId: UserId,
  channel: Schema.String,
}) {
  readonly code = "identity_not_found"
  override get message() {
    return `${this.userId} has no ${this.channel} identity`
  }
}

/** The address already belongs to another user of the tenant on that channel. */
export class IdentityConflict extends Schema.TaggedError<IdentityConflict>()("IdentityConflict", {
  channel: Schema.String,
  address: Schema.String,
  ownerId: UserId,
}) {
  readonly code = "identity_conflict"
  override get message() {
    return `${this.channel} address ${this.address} already belongs to ${this.ownerId}; remove that identity first`
  }
}

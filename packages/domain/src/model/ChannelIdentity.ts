import { Schema } from "effect"
import { ChannelName } from "./Delivery.js"
import { TenantId, UserId } from "./Ids.js"

/** A user's address on a channel: a WhatsApp number, an Instagram id, a Telegram chat id. */
export class ChannelIdentity extends Schema.Class<ChannelIdentity>("ChannelIdentity")({
  tenantId: TenantId,
  userId: UserId,
  channel: ChannelName,
  address: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
  displayName: Schema.optional(Schema.String.pipe(Schema.maxLength(256))),
  updatedAt: Schema.Number,
}) {}

/** What a connector can carry; the routing plan skips what it cannot. */
export interface ConnectorCapabilities {
  readonly channel: string
  readonly enabled: boolean
  readonly contentTypes: ReadonlyArray<"text" | "file" | "system">
  readonly maxTextLength: number
}

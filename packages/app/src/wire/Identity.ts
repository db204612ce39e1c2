import type { ChannelIdentity } from "@chat4all/domain"
import { Schema } from "effect"
import { Iso, iso } from "./Common.js"

/** A user's address on a channel. */
export const Identity = Schema.Struct({
  userId: Schema.String,
  channel: Schema.String.annotations({
    description: "The connector's channel: `whatsapp`, `instagram`, `telegram`, ...",
  }),
  address: Schema.String.annotations({
    description:
      "In the connector's canonical form: WhatsApp E.164 digits (`5511999990000`), an Instagram-scoped id, a Telegram chat id",
  }),
  displayName: Schema.optional(Schema.String),
  updatedAt: Iso,
}).annotations({ identifier: "ChannelIdentity" })
export type Identity = typeof Identity.Type

export const IdentityList = Schema.Struct({ items: Schema.Array(Identity) }).annotations({
  identifier: "ChannelIdentityList",
})

export const PutIdentity = Schema.Struct({
  address: Schema.String.annotations({
    description:
      "The user's address on the channel, in any form the connector reads (`+55 (11) 99999-0000`); it is stored in " +
      "the connector's canonical form, which the answer shows",
  }),
  displayName: Schema.optional(Schema.String.annotations({ description: "At most 256 characters" })),
}).annotations({ identifier: "PutChannelIdentity" })

export const fromIdentity = (identity: ChannelIdentity.ChannelIdentity): Identity => ({
  userId: identity.userId,
  channel: identity.channel,
  address: identity.address,
  ...(identity.displayName === undefined ? {} : { displayName: identity.displayName }),
  updatedAt: iso(identity.updatedAt),
})

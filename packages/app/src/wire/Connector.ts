import { Schema } from "effect"
import { Iso } from "./Common.js"

export const HealthStatus = Schema.Literal(
  "ok",
  "failing",
  "disabled",
  "not_configured",
  "unusable",
).annotations({
  description:
    "`ok`: the provider accepted the credentials just now; `failing`: it did not (see `reason`, `detail`); " +
    "`disabled`: configured but turned off (not probed); `not_configured`: the tenant has no settings for it; " +
    "`unusable`: the stored settings cannot be read or built (see `detail`)",
})

export const ConnectorHealth = Schema.Struct({
  status: HealthStatus,
  reason: Schema.optional(
    Schema.String.annotations({
      description: "The probe's failure reason: `unauthorized`, `network`, `timeout`, ...",
    }),
  ),
  detail: Schema.optional(
    Schema.String.annotations({ description: "What went wrong, in words (never a secret)" }),
  ),
  checkedAt: Iso,
}).annotations({ identifier: "ConnectorHealth" })
export type ConnectorHealth = typeof ConnectorHealth.Type

export const Connector = Schema.Struct({
  name: Schema.String.annotations({
    description: "The connector, which is also the channel name of identities",
  }),
  description: Schema.String,
  configured: Schema.Boolean,
  enabled: Schema.Boolean,
  inboxUserId: Schema.NullOr(Schema.String).annotations({
    description:
      "The user inbound messages are addressed to (each sender gets a direct conversation with them)",
  }),
  settings: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })).annotations({
    description: "The stored settings with every secret shown as `<redacted>`; null when not configured",
  }),
  receipts: Schema.Array(Schema.String).annotations({
    description: "The statuses the provider reports back by webhook (`delivered`, `read`, `failed`)",
  }),
  webhookPath: Schema.String.annotations({
    description:
      "Where to point the provider's webhooks, for this tenant (append it to the server's public URL)",
  }),
  health: ConnectorHealth,
  createdAt: Schema.NullOr(Iso),
  updatedAt: Schema.NullOr(Iso),
}).annotations({ identifier: "Connector" })
export type Connector = typeof Connector.Type

export const ConnectorList = Schema.Struct({ items: Schema.Array(Connector) }).annotations({
  identifier: "ConnectorList",
})

/** The webhook path of a connector for a tenant. */
export const webhookPath = (name: string, tenantId: string) =>
  `/v1/connectors/${encodeURIComponent(name)}/webhook?tenant=${encodeURIComponent(tenantId)}`

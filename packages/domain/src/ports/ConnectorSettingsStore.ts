import { Context, type Effect, type Option } from "effect"
import type { ConnectorConfig } from "../model/ConnectorConfig.js"
import type { StoreUnavailable } from "../model/Errors.js"
import type { TenantId } from "../model/Ids.js"

/**
 * Each tenant's connector configurations, one per connector name. The settings hold the provider's
 * credentials: an adapter stores what it is given, and the app wraps the store so that what it is given
 * is already sealed (see the app's `ConnectorSecrets`).
 */
export class ConnectorSettingsStore extends Context.Tag("@chat4all/domain/ConnectorSettingsStore")<
  ConnectorSettingsStore,
  {
    /** Creates or replaces the tenant's configuration of `config.connector`; the first `createdAt` stays. */
    readonly put: (config: ConnectorConfig) => Effect.Effect<void, StoreUnavailable>
    readonly get: (
      tenantId: TenantId,
      connector: string,
    ) => Effect.Effect<Option.Option<ConnectorConfig>, StoreUnavailable>
    /** The tenant's configurations, by connector name. */
    readonly list: (tenantId: TenantId) => Effect.Effect<ReadonlyArray<ConnectorConfig>, StoreUnavailable>
  }
>() {}

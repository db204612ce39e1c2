import { Effect, Option } from "effect"
import { ConnectorConfig, defaultInboxUserId } from "../model/ConnectorConfig.js"
import type { ChannelName } from "../model/Delivery.js"
import { Forbidden } from "../model/Errors.js"
import type { UserId } from "../model/Ids.js"
import { now } from "../ports/Clock.js"
import { ConnectorOutbox } from "../ports/ConnectorOutbox.js"
import { ConnectorSettingsStore } from "../ports/ConnectorSettingsStore.js"
import type { Caller } from "./Caller.js"

/** Connector settings are changed by the tenant's admins only. */
export const requireAdmin = (caller: Caller): Effect.Effect<void, Forbidden> =>
  caller.role === "admin"
    ? Effect.void
    : Effect.fail(new Forbidden({ message: "only admin tokens change connector settings" }))

export interface SaveConnectorConfigInput {
  readonly connector: ChannelName
  readonly enabled: boolean
  /** The connector's settings, validated by it, in their stored form. */
  readonly settings: unknown
  /** Omitted: the current one, or `inbox` for a new configuration. */
  readonly inboxUserId?: UserId | undefined
}

/**
 * Sets the tenant's configuration of a connector (admins only). From the first configuration on, the
 * tenant's messages are routed to connectors: the routing cursor starts at the head of its event log,
 * before the configuration is stored, so a message committed once the connector is in place is routed.
 */
export const saveConnectorConfig = (caller: Caller, input: SaveConnectorConfigInput) =>
  Effect.gen(function* () {
    yield* requireAdmin(caller)
    const outbox = yield* ConnectorOutbox
    yield* outbox.follow(caller.tenantId)
    const store = yield* ConnectorSettingsStore
    const current = yield* store.get(caller.tenantId, input.connector)
    const at = yield* now
    const config = new ConnectorConfig({
      tenantId: caller.tenantId,
      connector: input.connector,
      enabled: input.enabled,
      settings: input.settings,
      inboxUserId:
        input.inboxUserId ??
        Option.match(current, { onNone: () => defaultInboxUserId, onSome: (c) => c.inboxUserId }),
      createdAt: Option.match(current, { onNone: () => at, onSome: (c) => c.createdAt }),
      updatedAt: at,
    })
    yield* store.put(config)
    yield* Effect.logInfo("connector configured").pipe(
      Effect.annotateLogs({ tenantId: caller.tenantId, connector: input.connector, enabled: input.enabled }),
    )
    return config
  })

/** The tenant's connector configurations (admins and services: the answer is redacted by the edge). */
export const listConnectorConfigs = (caller: Caller) =>
  Effect.gen(function* () {
    if (!caller.isPrivileged)
      return yield* new Forbidden({ message: "only service and admin tokens read connector settings" })
    const store = yield* ConnectorSettingsStore
    return yield* store.list(caller.tenantId)
  })

import {
  type Connector,
  type ConnectorError,
  Instagram,
  type InvalidSettings,
  Registry,
  Telegram,
  type UnknownConnector,
  WhatsApp,
} from "@chat4all/connectors"
import {
  ChannelConnectors,
  type ConnectorConfig,
  ConnectorSettingsStore,
  type Errors,
  type Identities,
  type Ids,
} from "@chat4all/domain"
import { Context, Effect, Either, Layer, Option } from "effect"
import { ConnectorSecrets, contextOf, type SealError } from "./ConnectorSecrets.js"

/**
 * The tenants' connectors: each tenant's stored configuration, opened with the secrets key and built
 * with the registry. It is the app's side of the domain's `ChannelConnectors` port (what routing and
 * delivery call), and what the connector endpoints read.
 */

/** A tenant's connector as stored, and as built from it (or why it could not be built). */
export interface Configured {
  readonly config: ConnectorConfig.ConnectorConfig
  /** The settings opened (secrets in clear): for `parse` and `build` only, never for an answer or a log. */
  readonly settings: Either.Either<unknown, SealError>
  readonly connector: Either.Either<Connector, SealError | InvalidSettings | UnknownConnector>
}

export class TenantConnectors extends Context.Tag("@chat4all/app/TenantConnectors")<
  TenantConnectors,
  {
    /** The tenant's configuration of `name`, built; none when it has none. */
    readonly get: (
      tenantId: Ids.TenantId,
      name: string,
    ) => Effect.Effect<Option.Option<Configured>, Errors.StoreUnavailable>
    readonly list: (
      tenantId: Ids.TenantId,
    ) => Effect.Effect<ReadonlyArray<Configured>, Errors.StoreUnavailable>
    /**
     * How addresses on `channel` are normalized for this tenant: its connector's `normalizeAddress`, or a
     * shipped connector's when the tenant has not configured it yet; none for a channel no connector knows.
     */
    readonly normalizer: (
      tenantId: Ids.TenantId,
      channel: string,
    ) => Effect.Effect<Identities.Normalize | undefined, Errors.StoreUnavailable>
  }
>() {}

/** The shipped connectors' address rules, usable before a tenant configures them. */
const builtInNormalizers: Record<string, Connector["normalizeAddress"]> = {
  [WhatsApp.name]: WhatsApp.normalizeAddress,
  [Instagram.name]: Instagram.normalizeAddress,
  [Telegram.name]: Telegram.normalizeAddress,
}

const asNormalize =
  (normalize: Connector["normalizeAddress"]): Identities.Normalize =>
  (address) =>
    Either.mapLeft(normalize(address), (invalid) => ({ expected: invalid.expected }))

/** Why a configured connector cannot be used, in words for an operator (never a secret). */
export const problemOf = (error: SealError | InvalidSettings | UnknownConnector): string =>
  error._tag === "SealError"
    ? error.message
    : error._tag === "InvalidSettings"
      ? `its stored settings are no longer valid (${error.detail}); PUT them again`
      : `no connector named ${error.name} is registered in this server`

export const make = Effect.gen(function* () {
  const store = yield* ConnectorSettingsStore.ConnectorSettingsStore
  const secrets = yield* ConnectorSecrets
  const registry = yield* Registry.ConnectorRegistry

  const built = (config: ConnectorConfig.ConnectorConfig): Effect.Effect<Configured> =>
    Effect.gen(function* () {
      const settings = yield* Effect.either(
        secrets.open(config.settings, contextOf(config.tenantId, config.connector)),
      )
      const connector = Either.isLeft(settings)
        ? Either.left(settings.left)
        : yield* Effect.either(registry.build(config.connector, settings.right))
      return { config, settings, connector }
    })

  const get: Context.Tag.Service<TenantConnectors>["get"] = (tenantId, name) =>
    Effect.flatMap(store.get(tenantId, name), (config) =>
      Option.isNone(config) ? Effect.succeedNone : Effect.map(built(config.value), Option.some),
    )

  const list: Context.Tag.Service<TenantConnectors>["list"] = (tenantId) =>
    Effect.flatMap(store.list(tenantId), (configs) => Effect.forEach(configs, built))

  const service = TenantConnectors.of({
    get,
    list,
    normalizer: (tenantId, channel) =>
      Effect.map(get(tenantId, channel), (configured) => {
        if (Option.isSome(configured) && Either.isRight(configured.value.connector))
          return asNormalize(configured.value.connector.right.normalizeAddress)
        const builtIn = builtInNormalizers[channel]
        return builtIn === undefined ? undefined : asNormalize(builtIn)
      }),
  })

  const failed = (detail: string, retryable = false): ChannelConnectors.SendOutcome => ({
    _tag: "Failed",
    retryable,
    detail,
  })

  const port = ChannelConnectors.ChannelConnectors.of({
    capabilities: (tenantId) =>
      Effect.flatMap(list(tenantId), (configured) =>
        Effect.forEach(configured, ({ config, connector }) =>
          Either.isRight(connector)
            ? Effect.succeed([connector.right.capabilities])
            : Effect.as(
                Effect.logWarning(
                  `connector ${config.connector} of tenant ${tenantId} is skipped: ${problemOf(connector.left)}`,
                ),
                [],
              ),
        ).pipe(Effect.map((all) => all.flat())),
      ),
    send: (tenantId, channel, delivery) =>
      Effect.gen(function* () {
        const configured = yield* get(tenantId, channel)
        if (Option.isNone(configured))
          return failed(`the ${channel} connector is not configured for this tenant`)
        const connector = configured.value.connector
        if (Either.isLeft(connector))
          return failed(`the ${channel} connector cannot be used: ${problemOf(connector.left)}`)
        return yield* connector.right.send(delivery).pipe(
          Effect.map(
            (receipt): ChannelConnectors.SendOutcome => ({
              _tag: "Sent",
              providerMessageId: receipt.providerMessageId,
              recipient: receipt.recipient,
            }),
          ),
          Effect.catchAll((error: ConnectorError) =>
            Effect.succeed<ChannelConnectors.SendOutcome>({
              _tag: "Failed",
              retryable: error.retryable,
              retryAfterMs: error.retryAfterMs,
              detail: error.message,
            }),
          ),
        )
      }),
  })

  return Context.make(TenantConnectors, service).pipe(Context.add(ChannelConnectors.ChannelConnectors, port))
})

/** `TenantConnectors` and the domain's `ChannelConnectors` over the stored configurations. */
export const layer: Layer.Layer<
  TenantConnectors | ChannelConnectors.ChannelConnectors,
  never,
  ConnectorSettingsStore.ConnectorSettingsStore | ConnectorSecrets | Registry.ConnectorRegistry
> = Layer.effectContext(make)

import { type ConnectorFactory, InvalidSettings, Registry } from "@chat4all/connectors"
import { ConnectorConfigs, type Delivery, Ids } from "@chat4all/domain"
import { HttpApiBuilder } from "@effect/platform"
import { Clock, Duration, Effect, Either, Option, Schema } from "effect"
import { ConnectorSecrets, contextOf } from "../../connectors/ConnectorSecrets.js"
import { type Configured, problemOf, TenantConnectors } from "../../connectors/TenantConnectors.js"
import { iso } from "../../wire/Common.js"
import type { Connector, ConnectorHealth } from "../../wire/Connector.js"
import { webhookPath } from "../../wire/Connector.js"
import { Api } from "../Api.js"
import { CurrentCaller } from "../Authentication.js"
import { answer } from "./ConnectorErrors.js"

/** The longest a health probe may take, whatever the connector's own timeout says. */
const probeLimit = Duration.seconds(65)

const decodeInbox = Schema.decodeUnknownEither(Ids.UserId)

/** The engine's fields of a settings body, taken out before the connector reads the rest. */
const splitBody = (
  name: string,
  body: Readonly<Record<string, unknown>>,
): Either.Either<
  { readonly inboxUserId: Ids.UserId | undefined; readonly settings: Record<string, unknown> },
  InvalidSettings
> => {
  const { inboxUserId, ...settings } = body
  if (inboxUserId === undefined) return Either.right({ inboxUserId: undefined, settings })
  const decoded = decodeInbox(inboxUserId)
  return Either.isLeft(decoded)
    ? Either.left(
        new InvalidSettings({
          connector: name,
          field: "inboxUserId",
          detail: "inboxUserId: must be a user id, 1-128 characters of A-Z a-z 0-9 . _ : -",
        }),
      )
    : Either.right({ inboxUserId: decoded.right, settings })
}

/** Health from the connector as stored: disabled and unusable ones are not probed. */
const healthOf = (configured: Configured) =>
  Effect.gen(function* () {
    const checkedAt = iso(yield* Clock.currentTimeMillis)
    const { connector } = configured
    if (Either.isLeft(connector))
      return { status: "unusable", detail: problemOf(connector.left), checkedAt } satisfies ConnectorHealth
    if (!connector.right.capabilities.enabled)
      return { status: "disabled", checkedAt } satisfies ConnectorHealth
    const probed = yield* connector.right.probe.pipe(Effect.either, Effect.timeoutOption(probeLimit))
    const at = iso(yield* Clock.currentTimeMillis)
    if (Option.isNone(probed))
      return {
        status: "failing",
        reason: "timeout",
        detail: `the provider did not answer within ${Duration.format(probeLimit)}`,
        checkedAt: at,
      } satisfies ConnectorHealth
    return Either.match(probed.value, {
      onRight: (): ConnectorHealth => ({ status: "ok", checkedAt: at }),
      onLeft: (error): ConnectorHealth => ({
        status: "failing",
        reason: error.reason,
        detail: error.message,
        checkedAt: at,
      }),
    })
  })

export const ConnectorsHandlers = HttpApiBuilder.group(Api, "connectors", (handlers) =>
  Effect.gen(function* () {
    const registry = yield* Registry.ConnectorRegistry
    const tenants = yield* TenantConnectors
    const secrets = yield* ConnectorSecrets

    /** What `GET /v1/connectors` shows of one connector for the tenant. */
    const view = (
      factory: ConnectorFactory.ConnectorFactory,
      tenantId: Ids.TenantId,
      configured: Option.Option<Configured>,
    ): Effect.Effect<Connector> =>
      Effect.gen(function* () {
        const path = webhookPath(factory.name, tenantId)
        if (Option.isNone(configured))
          return {
            name: factory.name,
            description: factory.description,
            configured: false,
            enabled: false,
            inboxUserId: null,
            settings: null,
            receipts: [],
            webhookPath: path,
            health: { status: "not_configured", checkedAt: iso(yield* Clock.currentTimeMillis) },
            createdAt: null,
            updatedAt: null,
          }
        const { config, settings, connector } = configured.value
        const redacted = Either.isRight(settings)
          ? yield* factory.parse(settings.right).pipe(
              Effect.map((parsed) => parsed.redacted as Record<string, unknown>),
              Effect.orElseSucceed(() => null),
            )
          : null
        return {
          name: factory.name,
          description: factory.description,
          configured: true,
          enabled: config.enabled,
          inboxUserId: config.inboxUserId,
          settings: redacted,
          receipts: Either.isRight(connector) ? [...connector.right.capabilities.receipts] : [],
          webhookPath: path,
          health: yield* healthOf(configured.value),
          createdAt: iso(config.createdAt),
          updatedAt: iso(config.updatedAt),
        }
      })

    return handlers
      .handle("list", () =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          yield* answer(ConnectorConfigs.listConnectorConfigs(caller))
          const configured = yield* answer(tenants.list(caller.tenantId))
          const byName = new Map(configured.map((c) => [c.config.connector as string, c]))
          const factories = yield* Effect.forEach(registry.names, (name) => registry.factory(name)).pipe(
            Effect.orDie,
          )
          const items = yield* Effect.forEach(
            factories,
            (factory) => view(factory, caller.tenantId, Option.fromNullable(byName.get(factory.name))),
            { concurrency: "unbounded" },
          )
          return { items }
        }),
      )
      .handle("put", ({ path, payload }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          yield* answer(ConnectorConfigs.requireAdmin(caller))
          const factory = yield* answer(registry.factory(path.name))
          const { inboxUserId, settings } = yield* answer(splitBody(path.name, payload))
          const parsed = yield* answer(factory.parse(settings))
          const sealed = yield* answer(
            secrets.seal(parsed.forStorage, contextOf(caller.tenantId, factory.name)),
          )
          yield* answer(
            ConnectorConfigs.saveConnectorConfig(caller, {
              connector: factory.name as Delivery.ChannelName,
              enabled: parsed.enabled,
              settings: sealed,
              inboxUserId,
            }),
          )
          const stored = yield* answer(tenants.get(caller.tenantId, factory.name))
          return yield* view(factory, caller.tenantId, stored)
        }),
      )
  }),
)

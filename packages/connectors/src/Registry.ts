import { Context, Effect, Layer } from "effect"
import type { Connector } from "./Connector.js"
import { type InvalidSettings, UnknownConnector } from "./ConnectorError.js"
import type { ConnectorFactory, ParsedSettings } from "./ConnectorFactory.js"
import * as Instagram from "./instagram/Instagram.js"
import * as Telegram from "./telegram/Telegram.js"
import * as WhatsApp from "./whatsapp/WhatsApp.js"

/**
 * The connector registry: names to factories. Connectors are per tenant: the app keeps each tenant's
 * settings per connector name (validated with `parse`, stored in their `forStorage` form) and calls
 * `build(name, storedSettings)` when it needs that tenant's connector, for a delivery or a webhook.
 */
export interface Registry {
  /** Registered names, sorted. */
  readonly names: ReadonlyArray<string>
  readonly factory: (name: string) => Effect.Effect<ConnectorFactory, UnknownConnector>
  /** Validates a tenant's settings for the named connector (`PUT /v1/connectors/{name}`). */
  readonly parse: (
    name: string,
    input: unknown,
  ) => Effect.Effect<ParsedSettings, UnknownConnector | InvalidSettings>
  /** The named connector for a tenant's (stored) settings. */
  readonly build: (
    name: string,
    settings: unknown,
  ) => Effect.Effect<Connector, UnknownConnector | InvalidSettings>
}

/** A registry of these factories. Two factories with one name is a programming error and throws. */
export const make = (factories: Iterable<ConnectorFactory>): Registry => {
  const byName = new Map<string, ConnectorFactory>()
  for (const factory of factories) {
    if (!/^[a-z0-9_-]{1,32}$/.test(factory.name))
      throw new Error(
        `connector name ${JSON.stringify(factory.name)} is not a channel name ([a-z0-9_-]{1,32})`,
      )
    if (byName.has(factory.name)) throw new Error(`two connectors are named ${JSON.stringify(factory.name)}`)
    byName.set(factory.name, factory)
  }
  const names = [...byName.keys()].sort()
  const factory = (name: string) => {
    const found = byName.get(name)
    return found === undefined
      ? Effect.fail(new UnknownConnector({ name, known: names }))
      : Effect.succeed(found)
  }
  return {
    names,
    factory,
    parse: (name, input) => Effect.flatMap(factory(name), (f) => f.parse(input)),
    build: (name, settings) => Effect.flatMap(factory(name), (f) => f.build(settings)),
  }
}

/** The connectors that ship with Chat4All. */
export const builtIn: ReadonlyArray<ConnectorFactory> = [
  WhatsApp.factory,
  Instagram.factory,
  Telegram.factory,
]

/** The registry as a service, for the app's layers. */
export class ConnectorRegistry extends Context.Tag("@chat4all/connectors/ConnectorRegistry")<
  ConnectorRegistry,
  Registry
>() {}

/** The registry of these factories (the built-in ones by default). */
export const layer = (factories: Iterable<ConnectorFactory> = builtIn): Layer.Layer<ConnectorRegistry> =>
  Layer.sync(ConnectorRegistry, () => make(factories))

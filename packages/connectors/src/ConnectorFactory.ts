import { Cause, Clock, Effect, Exit, Metric, MetricBoundaries, Option, Schema } from "effect"
import type { Connector } from "./Connector.js"
import type { InvalidSettings } from "./ConnectorError.js"
import * as ConnectorSettings from "./ConnectorSettings.js"

/** A tenant's settings for one connector after validation. */
export interface ParsedSettings {
  readonly enabled: boolean
  /** The encoded settings, secrets in clear: for the settings store only (encrypt at rest there). */
  readonly forStorage: unknown
  /** The same with every secret replaced by `<redacted>`: for API answers and logs. */
  readonly redacted: unknown
}

/**
 * How a connector is made from a tenant's settings. The registry holds factories by name; the app keeps
 * each tenant's settings (validated with `parse`) and calls `build` with them when it needs the
 * connector. Building is cheap and pure, so there is nothing to cache or close.
 */
export interface ConnectorFactory {
  /** The registry name, which is also the channel name (`whatsapp`). */
  readonly name: string
  /** One line for operators: which provider and API. */
  readonly description: string
  /** The settings schema (the body of `PUT /v1/connectors/{name}`), for OpenAPI and docs. */
  readonly settings: Schema.Schema.AnyNoContext
  /** Validates settings input; `InvalidSettings` names the first offending field. */
  readonly parse: (input: unknown) => Effect.Effect<ParsedSettings, InvalidSettings>
  /** The connector for these settings (stored or fresh input), instrumented with spans and metrics. */
  readonly build: (settings: unknown) => Effect.Effect<Connector, InvalidSettings>
}

/** `chat4all_connector_sends_total{connector, outcome}`: outcome is `ok`, `retryable` or `failed`. */
export const sends = Metric.counter("chat4all_connector_sends_total", {
  description: "Sends through channel connectors, by connector and outcome (ok, retryable, failed)",
  incremental: true,
})
/** `chat4all_connector_webhooks_total{connector, outcome}`: `ok`, `invalid_signature` or `malformed`. */
export const webhooks = Metric.counter("chat4all_connector_webhooks_total", {
  description: "Provider webhooks received, by connector and outcome (ok, invalid_signature, malformed)",
  incremental: true,
})
/** `chat4all_connector_send_seconds{connector}`: time to the provider's answer or the failure. */
export const sendSeconds = Metric.histogram(
  "chat4all_connector_send_seconds",
  MetricBoundaries.exponential({ start: 0.005, factor: 2, count: 13 }),
  "Time from calling a provider to its answer (or failure), by connector",
)

/**
 * Wraps a connector with a span per call (`connector.send`, `connector.inbound`, `connector.probe`) and
 * the metrics `chat4all_connector_sends_total`, `chat4all_connector_send_seconds` and
 * `chat4all_connector_webhooks_total`, all tagged with the connector's name.
 */
export const instrument = (connector: Connector): Connector => {
  const name = connector.name
  return {
    ...connector,
    send: (delivery) =>
      Effect.gen(function* () {
        const started = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(connector.send(delivery))
        const elapsed = (yield* Clock.currentTimeMillis) - started
        yield* Metric.update(sendSeconds.pipe(Metric.tagged("connector", name)), elapsed / 1000)
        const outcome = Exit.match(exit, {
          onFailure: (cause) =>
            Cause.failureOption(cause).pipe(
              Option.match({ onNone: () => "failed", onSome: (e) => (e.retryable ? "retryable" : "failed") }),
            ),
          onSuccess: () => "ok",
        })
        yield* Metric.update(
          sends.pipe(Metric.tagged("connector", name), Metric.tagged("outcome", outcome)),
          1,
        )
        return yield* exit
      }).pipe(
        Effect.withSpan("connector.send", {
          kind: "client",
          attributes: { "connector.name": name, "message.id": delivery.messageId },
        }),
      ),
    inbound: (request) =>
      connector.inbound(request).pipe(
        Effect.tapBoth({
          onFailure: (error) =>
            Metric.update(
              webhooks.pipe(
                Metric.tagged("connector", name),
                Metric.tagged(
                  "outcome",
                  error._tag === "InvalidSignature" ? "invalid_signature" : "malformed",
                ),
              ),
              1,
            ),
          onSuccess: () =>
            Metric.update(webhooks.pipe(Metric.tagged("connector", name), Metric.tagged("outcome", "ok")), 1),
        }),
        Effect.withSpan("connector.inbound", { kind: "server", attributes: { "connector.name": name } }),
      ),
    probe: connector.probe.pipe(
      Effect.withSpan("connector.probe", { kind: "client", attributes: { "connector.name": name } }),
    ),
  }
}

/**
 * Defines a connector factory from its settings schema and a constructor. The schema should be a
 * `Schema.Struct` built from `ConnectorSettings.commonFields` plus the provider's own fields, with
 * secrets as `ConnectorSettings.Secret`.
 */
export const define = <A extends { readonly enabled: boolean }, I>(definition: {
  readonly name: string
  readonly description: string
  readonly settings: Schema.Schema<A, I>
  readonly make: (settings: A) => Connector
}): ConnectorFactory => {
  const decode = ConnectorSettings.decode(definition.name, definition.settings)
  const encode = Schema.encodeSync(definition.settings)
  return {
    name: definition.name,
    description: definition.description,
    settings: definition.settings,
    parse: (input) =>
      Effect.map(decode(input), (settings) => ({
        enabled: settings.enabled,
        forStorage: encode(settings),
        redacted: ConnectorSettings.redact(settings),
      })),
    build: (input) => Effect.map(decode(input), (settings) => instrument(definition.make(settings))),
  }
}

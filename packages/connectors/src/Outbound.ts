import { Effect, Either } from "effect"
import type { Capabilities, OutboundDelivery } from "./Connector.js"
import { ConnectorError, type InvalidAddress } from "./ConnectorError.js"

/**
 * The checks every `send` makes before calling its provider, shared so connectors agree on them: the
 * connector is enabled, the content type is one it carries, and the text fits. Each failure is
 * `retryable: false` (retrying cannot change the answer) and names the limit.
 *
 * Returns the text to send: the text of a `text` or `system` message, the caption of a `file`.
 */
export const text = (
  connector: string,
  capabilities: Capabilities,
  delivery: OutboundDelivery,
): Effect.Effect<string, ConnectorError> => {
  const fail = (reason: ConnectorError["reason"], detail: string) =>
    Effect.fail(new ConnectorError({ connector, reason, retryable: false, detail }))
  if (!capabilities.enabled) return fail("disabled", "the connector is disabled in this tenant's settings")
  const content = delivery.content
  if (!capabilities.contentTypes.includes(content.type))
    return fail(
      "content_unsupported",
      `${content.type} messages are not carried; this connector carries ${capabilities.contentTypes.join(", ")}`,
    )
  const body = content.type === "file" ? (content.caption ?? "") : content.text
  if (body.length > capabilities.maxTextLength)
    return fail(
      "text_too_long",
      `the text has ${body.length} characters; the provider takes at most ${capabilities.maxTextLength}`,
    )
  return Effect.succeed(body)
}

/**
 * The recipient's address in the connector's canonical form, or an `invalid_address` failure
 * (`retryable: false`) saying what the channel expects.
 */
export const address = (
  connector: string,
  normalize: (address: string) => Either.Either<string, InvalidAddress>,
  delivery: OutboundDelivery,
): Effect.Effect<string, ConnectorError> =>
  Either.match(normalize(delivery.address), {
    onLeft: (invalid) =>
      Effect.fail(
        new ConnectorError({
          connector,
          reason: "invalid_address",
          retryable: false,
          detail: invalid.message,
        }),
      ),
    onRight: Effect.succeed,
  })

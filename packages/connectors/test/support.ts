import { createHmac } from "node:crypto"
import {
  type Connector,
  type ConnectorError,
  type ConnectorFactory,
  type SendReceipt,
  WebhookRequest,
} from "@chat4all/connectors"
import { Conformance, StandIn } from "@chat4all/connectors/testing"
import { Effect, type Either, type Scope } from "effect"

/** A loopback server answering every request with `answer`: a fixed provider reply under test. */
export const fixedProvider = (answer: (request: StandIn.RecordedRequest) => StandIn.Answer) =>
  StandIn.listen({ handle: answer, renderFailure: (status) => ({ status, body: {} }) })

/** The connector for these settings; settings the factory refuses are a test bug. */
export const build = (
  factory: ConnectorFactory.ConnectorFactory,
  settings: Record<string, unknown>,
): Effect.Effect<Connector> => Effect.orDie(factory.build(settings))

/** Builds the connector against a provider that always answers `answer`, and sends one text to `address`. */
export const sendAgainst = (
  factory: ConnectorFactory.ConnectorFactory,
  settings: (baseUrl: string) => Record<string, unknown>,
  answer: (request: StandIn.RecordedRequest) => StandIn.Answer,
  address: string,
): Effect.Effect<Either.Either<SendReceipt, ConnectorError>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const server = yield* fixedProvider(answer)
    const connector = yield* build(factory, settings(server.url))
    return yield* Effect.either(connector.send(Conformance.textDelivery(address, "hello")))
  })

/** A Meta webhook POST with this JSON body, signed with `appSecret`. */
export const metaPost = (appSecret: string, body: unknown) => {
  const raw = JSON.stringify(body)
  return WebhookRequest.make({
    method: "POST",
    url: "/webhook",
    headers: { "x-hub-signature-256": `sha256=${createHmac("sha256", appSecret).update(raw).digest("hex")}` },
    body: raw,
  })
}

import { Webhook, WebhookRequest, type WebhookResponse } from "@chat4all/connectors"
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Cause, Effect, Either, Option } from "effect"
import { maxBodyBytes } from "../../config.js"
import * as ProviderEvents from "../../connectors/ProviderEvents.js"
import { problemOf, TenantConnectors } from "../../connectors/TenantConnectors.js"
import { Api } from "../Api.js"
import * as Problem from "../Problem.js"

/** The connector's answer, as the provider expects it. */
const respond = (response: WebhookResponse) => {
  const { "content-type": contentType, ...headers } = response.headers
  return HttpServerResponse.text(response.body, {
    status: response.status,
    headers,
    ...(contentType === undefined ? {} : { contentType }),
  })
}

/**
 * `GET|POST /v1/connectors/{name}/webhook?tenant=T`: the provider's callbacks, verified by the tenant's
 * connector over the raw body bytes (`Webhook.dispatch`), then stored (`ProviderEvents.store`) before
 * the provider gets its 200. No bearer token: the provider's signature is the authentication.
 */
const handle = (name: string, tenant: Parameters<TenantConnectors["Type"]["get"]>[0]) =>
  Effect.gen(function* () {
    const connectors = yield* TenantConnectors
    const request = yield* HttpServerRequest.HttpServerRequest
    const found = yield* Effect.either(connectors.get(tenant, name))
    if (Either.isLeft(found)) {
      yield* Effect.logError("provider webhook: the connector settings could not be read", found.left)
      return Problem.toResponse(
        Problem.make(
          503,
          "store_unavailable",
          `storage is unavailable (${found.left.operation}); retry shortly`,
        ),
      )
    }
    if (Option.isNone(found.right))
      return Problem.toResponse(
        Problem.make(
          404,
          "connector_not_found",
          `the ${name} connector is not configured for tenant ${tenant}`,
        ),
      )
    const { config, connector } = found.right.value
    if (Either.isLeft(connector)) {
      const detail = `the ${name} connector of tenant ${tenant} cannot be used: ${problemOf(connector.left)}`
      yield* Effect.logError(`provider webhook: ${detail}`)
      return Problem.toResponse(Problem.make(503, "connector_unusable", detail))
    }
    const body =
      request.method === "POST"
        ? yield* request.arrayBuffer.pipe(
            Effect.map((buffer) => Either.right(new Uint8Array(buffer))),
            Effect.catchAll((error) =>
              Effect.succeed(
                Either.left(
                  String(error.cause).includes("maxBytes")
                    ? Problem.make(
                        413,
                        "payload_too_large",
                        `the body is over ${maxBodyBytes} bytes, the most accepted`,
                      )
                    : Problem.invalidRequest("body", "could not be read"),
                ),
              ),
            ),
          )
        : Either.right(undefined)
    if (Either.isLeft(body)) return Problem.toResponse(body.left)
    const outcome = yield* Webhook.dispatch(
      connector.right,
      WebhookRequest.make({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: body.right,
      }),
    )
    switch (outcome._tag) {
      case "Handshake":
        return respond(outcome.response)
      case "Rejected":
        yield* Effect.logWarning(`provider webhook rejected: ${outcome.error.message}`)
        return respond(outcome.response)
      case "Events": {
        if (outcome.batch.ignored.length > 0)
          yield* Effect.logDebug(`provider webhook: skipped ${outcome.batch.ignored.join("; ")}`)
        const stored = yield* ProviderEvents.store(config, outcome.batch.events).pipe(Effect.exit)
        if (stored._tag === "Failure") {
          if (Cause.isInterruptedOnly(stored.cause)) return yield* Effect.interrupt
          return Problem.toResponse(
            Problem.make(
              500,
              "internal_error",
              "storing the webhook's events failed; redeliver it (it is safe)",
            ),
          )
        }
        return respond(outcome.response)
      }
    }
  }).pipe(Effect.annotateLogs({ tenantId: tenant, connector: name }))

export const ConnectorWebhooksHandlers = HttpApiBuilder.group(Api, "connectorWebhooks", (handlers) =>
  handlers
    .handle("handshake", ({ path, urlParams }) => handle(path.name, urlParams.tenant))
    .handle("receive", ({ path, urlParams }) => handle(path.name, urlParams.tenant)),
)

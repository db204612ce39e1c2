import { Ids } from "@chat4all/domain"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Connector, ConnectorList } from "../../wire/Connector.js"
import { Authentication } from "../Authentication.js"
import { ProblemJson } from "../Problem.js"
import { withCommonErrors } from "./Errors.js"
import { Channel } from "./IdentitiesApi.js"

export const ConnectorPath = Schema.Struct({ name: Channel })

export const ConnectorSettingsBody = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations(
  {
    identifier: "ConnectorSettings",
    description:
      "The connector's own settings (all connectors: `enabled` (default true), `baseUrl`, `timeoutMs`; WhatsApp: " +
      "`phoneNumberId`, `accessToken`, `appSecret`, `verifyToken`, `apiVersion`; Instagram: `accessToken`, " +
      "`appSecret`, `verifyToken`, `apiVersion`, `accountId`; Telegram: `botToken`, `secretToken`), plus the " +
      "engine's `inboxUserId`: the user each person who writes in gets a direct conversation with (default " +
      "`inbox`, or the one set before). Unknown fields are refused. Secrets are sent in full each time: reads " +
      "show them as `<redacted>`, and `<redacted>` is refused as a secret.",
  },
)

const problem = (status: number, description: string) =>
  [ProblemJson.annotations({ description }), { status }] as const

export const ConnectorsApi = withCommonErrors(
  HttpApiGroup.make("connectors")
    .add(
      HttpApiEndpoint.get("list", "/v1/connectors")
        .addSuccess(ConnectorList)
        .annotate(
          OpenApi.Summary,
          "The connectors and the tenant's settings of each, with health (service, admin)",
        )
        .annotate(
          OpenApi.Description,
          "Every connector this server has, configured for the tenant or not. Settings show secrets as " +
            "`<redacted>`. Health comes from probing the provider with the stored credentials now (its cheapest " +
            "authenticated call), so this takes as long as the slowest provider (at most its `timeoutMs`).",
        ),
    )
    .add(
      HttpApiEndpoint.put("put", "/v1/connectors/:name")
        .setPath(ConnectorPath)
        .setPayload(ConnectorSettingsBody)
        .addSuccess(Connector)
        .annotate(OpenApi.Summary, "Set the tenant's settings of a connector (admin)")
        .annotate(
          OpenApi.Description,
          "Validates the settings with the connector (400 `invalid_request` naming the field) and stores them, " +
            "the secrets sealed at rest. From then on the tenant's messages are routed through its enabled " +
            "connectors, and provider webhooks are taken at `webhookPath`. The answer is what `GET` shows for it, " +
            "health included. An unknown connector is 404 `connector_not_found`.",
        ),
    )
    .middleware(Authentication)
    .annotate(OpenApi.Description, "Channel connectors per tenant: settings (admin) and health"),
)

export const WebhookQuery = Schema.Struct({
  tenant: Ids.TenantId.annotations({ description: "The tenant whose connector this is" }),
})

export const ConnectorWebhooksApi = HttpApiGroup.make("connectorWebhooks")
  .add(
    HttpApiEndpoint.get("handshake", "/v1/connectors/:name/webhook")
      .setPath(ConnectorPath)
      .setUrlParams(WebhookQuery)
      .addSuccess(HttpApiSchema.Text())
      .addError(...problem(400, "`invalid_request`: `tenant` is missing or malformed"))
      .addError(
        ...problem(403, "`handshake_rejected`: wrong or missing verify token, or not a subscription check"),
      )
      .addError(
        ...problem(404, "`connector_not_found`: the tenant has no such connector; `connector_disabled`"),
      )
      .addError(...problem(405, "`method_not_allowed`: the provider has no handshake"))
      .annotate(OpenApi.Summary, "The provider's subscription handshake (Meta's hub.challenge)")
      .annotate(
        OpenApi.Description,
        "Configure the provider with `/v1/connectors/{name}/webhook?tenant={tenantId}` (see `webhookPath` in " +
          "`GET /v1/connectors`). No bearer token: the provider proves itself with the connector's verify token; " +
          "the answer is the challenge as text/plain.",
      ),
  )
  .add(
    HttpApiEndpoint.post("receive", "/v1/connectors/:name/webhook")
      .setPath(ConnectorPath)
      .setUrlParams(WebhookQuery)
      .addSuccess(HttpApiSchema.Text())
      .addError(
        ...problem(
          400,
          "`invalid_request` (`tenant`), or `malformed_webhook`: verified, but not the provider's format",
        ),
      )
      .addError(
        ...problem(
          401,
          "`invalid_signature`: the provider's signature (`X-Hub-Signature-256`) or secret token " +
            "(`X-Telegram-Bot-Api-Secret-Token`) is missing or wrong; nothing is stored",
        ),
      )
      .addError(
        ...problem(404, "`connector_not_found`: the tenant has no such connector; `connector_disabled`"),
      )
      .addError(...problem(413, "`payload_too_large`: over 1 MiB"))
      .addError(
        ...problem(500, "`internal_error`: storing the events failed; the provider redelivers, safely"),
      )
      .annotate(OpenApi.Summary, "Provider callbacks: inbound messages and delivery statuses")
      .annotate(
        OpenApi.Description,
        "No bearer token: the body is verified with the provider's own scheme over its exact bytes. Each " +
          "inbound message becomes a message from the sender (a new contact is made for an unknown address) in " +
          "their direct conversation with the connector's `inboxUserId`, exactly once: a redelivered webhook " +
          "answers 200 and creates nothing. Status callbacks move the per recipient and channel status of the " +
          "message sent, never backwards. 200 `ok` once everything is stored.",
      ),
  )
  .annotate(OpenApi.Description, "Provider webhooks (verified by the provider's signature, not a token)")

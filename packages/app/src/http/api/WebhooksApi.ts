import { Webhook as DomainWebhook } from "@chat4all/domain"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Page } from "../../wire/Common.js"
import { Webhook, WebhookDelivery, WebhookWithSecret } from "../../wire/Webhook.js"
import { Authentication } from "../Authentication.js"
import { ProblemJson } from "../Problem.js"
import { withCommonErrors } from "./Errors.js"
import { Limit } from "./Params.js"

export const CreateWebhook = Schema.Struct({
  url: Schema.String.pipe(
    Schema.maxLength(DomainWebhook.maxUrlLength, {
      message: () => `must be at most ${DomainWebhook.maxUrlLength} characters`,
    }),
  ).annotations({
    description:
      "An http(s) URL without credentials. Loopback, private, link-local and cloud metadata addresses " +
      "(also encoded, or behind a name that resolves to them) are refused unless the server allows private targets.",
  }),
  events: DomainWebhook.EventFilter.annotations({
    description: 'Event types to receive (`message.created`, `message.status`, ...), or `["*"]` for all',
  }),
  description: Schema.optional(
    Schema.String.pipe(
      Schema.maxLength(DomainWebhook.maxDescriptionLength, {
        message: () => `must be at most ${DomainWebhook.maxDescriptionLength} characters`,
      }),
    ),
  ),
}).annotations({ identifier: "CreateWebhook" })

export const WebhookPath = Schema.Struct({ webhookId: DomainWebhook.WebhookId })
export const DeliveryPath = Schema.Struct({
  webhookId: DomainWebhook.WebhookId,
  deliveryId: Schema.String.annotations({ description: "A delivery id: the event id (the `webhook-id`)" }),
})

const notFound = (description: string) => [ProblemJson.annotations({ description }), { status: 404 }] as const

export const WebhooksApi = withCommonErrors(
  HttpApiGroup.make("webhooks")
    .add(
      HttpApiEndpoint.post("create", "/v1/webhooks")
        .setPayload(CreateWebhook)
        .addSuccess(WebhookWithSecret, { status: 201 })
        .annotate(OpenApi.Summary, "Register a webhook endpoint (service and admin tokens)")
        .annotate(
          OpenApi.Description,
          "201 with the endpoint and its signing `secret`, shown this once. Every committed event of the " +
            "tenant whose type the filter lists is then POSTed to the URL as the Event JSON, signed as " +
            "Standard Webhooks: `webhook-id` (the event id, the same on every retry), `webhook-timestamp` " +
            "(unix seconds) and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` " +
            "keyed with the base64-decoded secret; two, space-separated, while a rotated secret overlaps). " +
            "A 2xx answer within 15 s delivers; anything else (3xx included: redirects are not followed) is " +
            "retried after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, then the delivery is `failed`; " +
            "410 Gone disables the endpoint. A refused URL answers 400 `invalid_request` naming `url`.",
        ),
    )
    .add(
      HttpApiEndpoint.get("list", "/v1/webhooks")
        .setUrlParams(
          Schema.Struct({ limit: Schema.optional(Limit), cursor: Schema.optional(Schema.String) }),
        )
        .addSuccess(Page(Webhook, "WebhookPage"))
        .annotate(OpenApi.Summary, "The tenant's webhook endpoints, newest first"),
    )
    .add(
      HttpApiEndpoint.get("get", "/v1/webhooks/:webhookId")
        .setPath(WebhookPath)
        .addSuccess(Webhook)
        .addError(...notFound("`webhook_not_found` (also for another tenant's endpoint)"))
        .annotate(OpenApi.Summary, "One webhook endpoint"),
    )
    .add(
      HttpApiEndpoint.del("delete", "/v1/webhooks/:webhookId")
        .setPath(WebhookPath)
        .addSuccess(HttpApiSchema.NoContent)
        .addError(...notFound("`webhook_not_found`"))
        .annotate(OpenApi.Summary, "Remove a webhook endpoint, with its delivery log"),
    )
    .add(
      HttpApiEndpoint.post("rotateSecret", "/v1/webhooks/:webhookId/rotate-secret")
        .setPath(WebhookPath)
        .addSuccess(WebhookWithSecret)
        .addError(...notFound("`webhook_not_found`"))
        .annotate(OpenApi.Summary, "Give an endpoint a new signing secret")
        .annotate(
          OpenApi.Description,
          "Answers the new `secret`, shown this once. For 24 hours (`previousSecretExpiresAt`) deliveries " +
            "carry two signatures, by the new secret and by the previous one, so receivers can switch without " +
            "rejecting anything.",
        ),
    )
    .add(
      HttpApiEndpoint.get("deliveries", "/v1/webhooks/:webhookId/deliveries")
        .setPath(WebhookPath)
        .setUrlParams(
          Schema.Struct({
            status: Schema.optional(DomainWebhook.DeliveryStatus),
            limit: Schema.optional(Limit),
            cursor: Schema.optional(Schema.String),
          }),
        )
        .addSuccess(Page(WebhookDelivery, "WebhookDeliveryPage"))
        .addError(...notFound("`webhook_not_found`"))
        .annotate(OpenApi.Summary, "An endpoint's delivery log, newest event first")
        .annotate(
          OpenApi.Description,
          "Each delivery with every attempt: its time, the status code or the error, and how long it took.",
        ),
    )
    .add(
      HttpApiEndpoint.post("retry", "/v1/webhooks/:webhookId/deliveries/:deliveryId/retry")
        .setPath(DeliveryPath)
        .addSuccess(WebhookDelivery, { status: 202 })
        .addError(...notFound("`webhook_not_found`, `delivery_not_found`"))
        .addError(
          ProblemJson.annotations({ description: "`webhook_disabled`: the endpoint answered 410 Gone" }),
          { status: 409 },
        )
        .annotate(OpenApi.Summary, "Replay a delivery now")
        .annotate(
          OpenApi.Description,
          "202: queued for an immediate attempt, with a fresh series of retries. The `webhook-id` stays the " +
            "event id, so a receiver that already processed it can tell.",
        ),
    )
    .middleware(Authentication)
    .annotate(
      OpenApi.Description,
      "Outbound webhooks (Standard Webhooks), per tenant; service and admin tokens only",
    ),
)

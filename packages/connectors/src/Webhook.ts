import { Effect } from "effect"
import type { Connector, WebhookResponse } from "./Connector.js"
import type { HandshakeRejected, InvalidSignature, MalformedWebhook } from "./ConnectorError.js"
import type { InboundBatch } from "./InboundEvent.js"
import type { WebhookRequest } from "./WebhookRequest.js"

/**
 * The provider-facing side of `GET|POST /v1/connectors/{name}/webhook`, in one call: a `GET` is the
 * subscription handshake, a `POST` a batch of events. The app's endpoint passes the raw request and
 * acts on the outcome:
 *
 * - `Handshake`: answer `response` as is.
 * - `Events`: store the events (inbound messages deduplicated by `(connector, providerMessageId)`,
 *   status updates applied with `Deliveries.applyDeliveryUpdate`), *then* answer `response` (200). If
 *   storing fails, answer 500 instead: the provider redelivers, and dedup makes that safe.
 * - `Rejected`: answer `response` (401 for a bad signature, 400 for a malformed body, 403 for a refused
 *   handshake, 404 when the connector is disabled, 405 for another method) and log `error`.
 */
export type Outcome =
  | { readonly _tag: "Handshake"; readonly response: WebhookResponse }
  | { readonly _tag: "Events"; readonly batch: InboundBatch; readonly response: WebhookResponse }
  | {
      readonly _tag: "Rejected"
      readonly error: InvalidSignature | MalformedWebhook | HandshakeRejected | Refused
      readonly response: WebhookResponse
    }

/** A webhook the connector will not take at all (disabled, wrong method). */
export interface Refused {
  readonly _tag: "Refused"
  readonly code: "connector_disabled" | "method_not_allowed"
  readonly message: string
}

const problem = (
  status: number,
  code: string,
  detail: string,
  extra?: Record<string, string>,
): WebhookResponse => ({
  status,
  headers: { "content-type": "application/problem+json", ...extra },
  body: JSON.stringify({ type: "about:blank", title: code.replace(/_/g, " "), status, code, detail }),
})

const ok: WebhookResponse = {
  status: 200,
  headers: { "content-type": "text/plain; charset=utf-8" },
  body: "ok",
}

const refused = (
  status: number,
  code: Refused["code"],
  message: string,
  headers?: Record<string, string>,
): Outcome => ({
  _tag: "Rejected",
  error: { _tag: "Refused", code, message },
  response: problem(status, code, message, headers),
})

/** Handles one provider request with `connector`. Never fails: every outcome carries its answer. */
export const dispatch = (connector: Connector, request: WebhookRequest): Effect.Effect<Outcome> => {
  if (!connector.capabilities.enabled)
    return Effect.succeed(
      refused(404, "connector_disabled", `the ${connector.name} connector is disabled for this tenant`),
    )
  if (request.method === "GET") {
    const handshake = connector.handshake
    if (handshake === undefined)
      return Effect.succeed(
        refused(405, "method_not_allowed", `${connector.name} webhooks have no handshake; use POST`, {
          allow: "POST",
        }),
      )
    return handshake(request).pipe(
      Effect.match({
        onFailure: (error): Outcome => ({
          _tag: "Rejected",
          error,
          response: problem(403, error.code, error.message),
        }),
        onSuccess: (response): Outcome => ({ _tag: "Handshake", response }),
      }),
    )
  }
  if (request.method !== "POST")
    return Effect.succeed(
      refused(405, "method_not_allowed", `${request.method} is not a webhook method`, {
        allow: connector.handshake === undefined ? "POST" : "GET, POST",
      }),
    )
  return connector.inbound(request).pipe(
    Effect.match({
      onFailure: (error): Outcome => ({
        _tag: "Rejected",
        error,
        response: problem(error._tag === "InvalidSignature" ? 401 : 400, error.code, error.message),
      }),
      onSuccess: (batch): Outcome => ({ _tag: "Events", batch, response: ok }),
    }),
  )
}

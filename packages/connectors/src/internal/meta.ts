import { Effect, type Redacted, Schema } from "effect"
import type { WebhookResponse } from "../Connector.js"
import { ConnectorError, HandshakeRejected, InvalidSignature } from "../ConnectorError.js"
import * as ProviderHttp from "../ProviderHttp.js"
import * as Signature from "../Signature.js"
import * as WebhookRequest from "../WebhookRequest.js"

/** What Meta's Graph API (WhatsApp Cloud, Instagram messaging) shares: errors, signatures, handshake. */

export const signatureHeader = "x-hub-signature-256"

/** The Graph API error envelope. */
const GraphError = Schema.Struct({
  error: Schema.Struct({
    message: Schema.optional(Schema.String),
    type: Schema.optional(Schema.String),
    code: Schema.optional(Schema.Number),
    error_subcode: Schema.optional(Schema.Number),
    is_transient: Schema.optional(Schema.Boolean),
    error_user_msg: Schema.optional(Schema.String),
    error_data: Schema.optional(Schema.Struct({ details: Schema.optional(Schema.String) })),
    fbtrace_id: Schema.optional(Schema.String),
  }),
})
const decodeGraphError = Schema.decodeUnknownOption(GraphError)

/** Graph codes that mean "too many calls": retry later. */
const rateLimitCodes = new Set([4, 17, 32, 613, 80007, 130429, 131048, 131056])
/** Graph codes that mean "temporary trouble on our side": retry. */
const transientCodes = new Set([1, 2, 1200, 131000, 131016, 133004])
/** Graph codes for a refused or expired token or a missing permission. */
const authCodes = new Set([10, 102, 190, 200, 294])

/**
 * A Graph API failure as a `ConnectorError`. The HTTP status gives the first verdict; the Graph error
 * code refines it, because Graph reports rate limits and transient trouble with codes, often under
 * HTTP 400 (`130429`, `131056`, `80007`, `is_transient: true`).
 */
export const graphFailure = (
  connector: string,
  response: ProviderHttp.Response,
  secrets: ReadonlyArray<Redacted.Redacted<string>>,
): Effect.Effect<ConnectorError> =>
  Effect.gen(function* () {
    const generic = yield* ProviderHttp.statusError(connector, response, `answered HTTP ${response.status}`)
    const parsed = decodeGraphError(response.json)
    if (parsed._tag === "None") {
      const body = response.text.slice(0, 200)
      return new ConnectorError({
        connector,
        reason: generic.reason,
        retryable: generic.retryable,
        status: response.status,
        detail: ProviderHttp.scrub(
          `answered HTTP ${response.status}${body === "" ? "" : `: ${JSON.stringify(body)}`}`,
          secrets,
        ),
        ...(generic.retryAfterMs === undefined ? {} : { retryAfterMs: generic.retryAfterMs }),
      })
    }
    const error = parsed.value.error
    const code = error.code
    const details = error.error_data?.details
    const detail = ProviderHttp.scrub(
      [
        // Graph messages often start with "(#<code>)" already.
        code === undefined || error.message?.startsWith(`(#${code})`) === true
          ? undefined
          : `(#${code}${error.error_subcode === undefined ? "" : `/${error.error_subcode}`})`,
        error.message ?? error.type ?? "error",
        details === undefined || details === error.message ? undefined : `- ${details}`,
        error.fbtrace_id === undefined ? undefined : `[fbtrace_id ${error.fbtrace_id}]`,
      ]
        .filter((p) => p !== undefined)
        .join(" "),
      secrets,
    )
    const reason =
      code !== undefined && rateLimitCodes.has(code)
        ? "rate_limited"
        : (code !== undefined && transientCodes.has(code)) || error.is_transient === true
          ? "provider_unavailable"
          : code !== undefined && authCodes.has(code)
            ? "unauthorized"
            : generic.reason
    const retryable = reason === "rate_limited" || reason === "provider_unavailable"
    return new ConnectorError({
      connector,
      reason,
      retryable,
      detail,
      status: response.status,
      ...(code === undefined ? {} : { providerCode: String(code) }),
      ...(retryable && generic.retryAfterMs !== undefined ? { retryAfterMs: generic.retryAfterMs } : {}),
    })
  })

/** Verifies `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body keyed with the app secret>`. */
export const verifyHubSignature = (
  connector: string,
  request: WebhookRequest.WebhookRequest,
  appSecret: Redacted.Redacted<string>,
): Effect.Effect<void, InvalidSignature> => {
  const check = Signature.verifyHexHmac({
    header: WebhookRequest.header(request, signatureHeader),
    prefix: "sha256=",
    secret: appSecret,
    body: request.body,
  })
  return check === "valid"
    ? Effect.void
    : Effect.fail(new InvalidSignature({ connector, reason: check, header: "X-Hub-Signature-256" }))
}

const challengePattern = /^[A-Za-z0-9._-]{1,256}$/

/**
 * Meta's subscription handshake: `GET ?hub.mode=subscribe&hub.verify_token=<token>&hub.challenge=<n>` is
 * answered `200` with the challenge as the body, only when the token matches (compared in constant time).
 */
export const hubHandshake = (
  connector: string,
  request: WebhookRequest.WebhookRequest,
  verifyToken: Redacted.Redacted<string>,
): Effect.Effect<WebhookResponse, HandshakeRejected> => {
  const mode = request.query["hub.mode"]
  const token = request.query["hub.verify_token"]
  const challenge = request.query["hub.challenge"]
  const reject = (reason: HandshakeRejected["reason"]) =>
    Effect.fail(new HandshakeRejected({ connector, reason }))
  if (request.method !== "GET" || (mode === undefined && token === undefined && challenge === undefined))
    return reject("not_a_handshake")
  if (mode !== "subscribe") return reject("wrong_mode")
  if (token === undefined || token === "") return reject("missing_token")
  if (!Signature.tokenEquals(token, verifyToken)) return reject("wrong_token")
  if (challenge === undefined || challenge === "") return reject("missing_challenge")
  if (!challengePattern.test(challenge)) return reject("bad_challenge")
  return Effect.succeed({
    status: 200,
    headers: { "content-type": "text/plain; charset=utf-8" },
    body: challenge,
  })
}

/** Graph timestamps are unix seconds, as numbers or digit strings. */
export const secondsToMillis = (value: string | number): number | undefined => {
  const n = typeof value === "number" ? value : /^\d{1,12}$/.test(value) ? Number(value) : Number.NaN
  return Number.isFinite(n) ? n * 1000 : undefined
}

import { createHmac, randomBytes } from "node:crypto"
import type { Answer, Signing } from "../StandIn.js"
import * as WebhookRequest from "../WebhookRequest.js"

/** What the WhatsApp and Instagram stand-ins share: Graph errors, signing, the hub handshake. */

export const randomToken = (prefix: string) => `${prefix}-${randomBytes(12).toString("hex")}`

const fbtrace = () => randomBytes(8).toString("base64url")

/** A Graph API error answer, as Graph words it. */
export const graphError = (
  status: number,
  error: {
    readonly message: string
    readonly code: number
    readonly type?: string
    readonly subcode?: number
    readonly transient?: boolean
    readonly details?: string
  },
  headers?: Record<string, string>,
): Answer => ({
  status,
  headers,
  body: {
    error: {
      message: error.message,
      type: error.type ?? "OAuthException",
      code: error.code,
      ...(error.subcode === undefined ? {} : { error_subcode: error.subcode }),
      ...(error.transient === undefined ? {} : { is_transient: error.transient }),
      ...(error.details === undefined ? {} : { error_data: { details: error.details } }),
      fbtrace_id: fbtrace(),
    },
  },
})

export const invalidToken = () =>
  graphError(401, { message: "Invalid OAuth access token - Cannot parse access token", code: 190 })

/** Graph's answer to an injected failure of this status. */
export const renderGraphFailure = (
  status: number,
  retryAfterSeconds: number | undefined,
  rateLimit: { readonly code: number; readonly message: string },
): Answer => {
  const headers: Record<string, string> =
    retryAfterSeconds === undefined ? {} : { "retry-after": String(retryAfterSeconds) }
  if (status === 429) return graphError(429, { ...rateLimit, details: rateLimit.message }, headers)
  if (status >= 500)
    return graphError(
      status,
      {
        message: "An unexpected error has occurred. Please retry your request later.",
        code: 2,
        transient: true,
      },
      headers,
    )
  if (status === 401) return invalidToken()
  if (status === 403)
    return graphError(403, {
      message: "(#10) Application does not have permission for this action",
      code: 10,
    })
  return graphError(status, { message: "(#100) Invalid parameter", code: 100 }, headers)
}

export const hubSignature = (secret: string, body: Uint8Array): string =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`

/** A signed Meta webhook POST. */
export const signedPost = (appSecret: string, body: Uint8Array, signing: Signing) =>
  WebhookRequest.make({
    method: "POST",
    url: "/webhook",
    headers: {
      "content-type": "application/json",
      "user-agent": "facebookexternalua",
      ...(signing === "missing"
        ? {}
        : {
            "x-hub-signature-256": hubSignature(signing === "valid" ? appSecret : `${appSecret}-other`, body),
          }),
    },
    body,
  })

/** Meta's subscription handshake GET. */
export const handshakeRequest = (
  verifyToken: string,
  options: {
    readonly token: "valid" | "wrong" | "missing"
    readonly challenge: string
    readonly mode?: string | undefined
  },
) => {
  const query = new URLSearchParams({
    "hub.mode": options.mode ?? "subscribe",
    "hub.challenge": options.challenge,
  })
  if (options.token !== "missing")
    query.set("hub.verify_token", options.token === "valid" ? verifyToken : `${verifyToken}-wrong`)
  return WebhookRequest.make({
    method: "GET",
    url: `/webhook?${query}`,
    headers: { "user-agent": "facebookplatform" },
  })
}

export const bearerOf = (headers: Readonly<Record<string, string>>): string | undefined => {
  const value = headers.authorization
  return value?.startsWith("Bearer ") ? value.slice("Bearer ".length) : undefined
}

export const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

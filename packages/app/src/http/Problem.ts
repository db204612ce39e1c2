import { HttpApiSchema, HttpServerResponse } from "@effect/platform"
import { Schema } from "effect"

/**
 * An error as `application/problem+json` (RFC 9457): `{ type, title, status, code, detail }`, with the
 * stable snake_case `code` of API.md. `field` names the offending input of an `invalid_request`;
 * `retryAfter` repeats the `Retry-After` header of a 429.
 */
export class Problem extends Schema.Class<Problem>("Problem")(
  {
    type: Schema.String,
    title: Schema.String,
    status: Schema.Int,
    code: Schema.String,
    detail: Schema.String,
    field: Schema.optional(Schema.String),
    retryAfter: Schema.optional(Schema.Int),
  },
  {
    description: "An error (RFC 9457 problem details); `code` is stable, `detail` explains this occurrence",
  },
) {}

export const contentType = "application/problem+json"

/** `Problem` as the API declares it: served as `application/problem+json`. */
export const ProblemJson = Problem.pipe(HttpApiSchema.withEncoding({ kind: "Json", contentType }))

const titles: Record<string, string> = {
  invalid_request: "Invalid request",
  unauthorized: "Unauthorized",
  forbidden: "Forbidden",
  not_a_member: "Not a member of the conversation",
  conversation_not_found: "Conversation not found",
  message_not_found: "Message not found",
  not_found: "Not found",
  method_not_allowed: "Method not allowed",
  idempotency_conflict: "Idempotency key reused with a different request",
  payload_too_large: "Payload too large",
  unsupported_media_type: "Unsupported media type",
  rate_limited: "Too many requests",
  store_unavailable: "Storage unavailable",
  fanout_unavailable: "Fanout unavailable",
  identity_provider_unavailable: "Identity provider unavailable",
  internal_error: "Internal server error",
}

/** A problem of a given status and code; the title comes from the code. */
export const make = (
  status: number,
  code: string,
  detail: string,
  extra: { readonly field?: string | undefined; readonly retryAfter?: number | undefined } = {},
): Problem =>
  new Problem(
    {
      type: `urn:chat4all:problem:${code}`,
      title: titles[code] ?? code,
      status,
      code,
      detail,
      ...(extra.field === undefined ? {} : { field: extra.field }),
      ...(extra.retryAfter === undefined ? {} : { retryAfter: extra.retryAfter }),
    },
    { disableValidation: true },
  )

export const invalidRequest = (field: string, message: string) =>
  make(400, "invalid_request", `${field}: ${message}`, { field })
export const unauthorized = (detail: string) => make(401, "unauthorized", detail)
export const forbidden = (detail: string) => make(403, "forbidden", detail)
export const notFound = (detail: string) => make(404, "not_found", detail)
export const internal = () =>
  make(500, "internal_error", "the server failed to handle the request; it has been logged")

/** The response for a problem, with `Retry-After` on a 429 and a `WWW-Authenticate` challenge on a 401. */
export const toResponse = (problem: Problem): HttpServerResponse.HttpServerResponse => {
  const headers: Record<string, string> = {}
  if (problem.retryAfter !== undefined) headers["retry-after"] = String(problem.retryAfter)
  if (problem.status === 401) headers["www-authenticate"] = 'Bearer realm="chat4all", error="invalid_token"'
  const { field, retryAfter, ...rest } = problem
  const body = {
    ...rest,
    ...(field === undefined ? {} : { field }),
    ...(retryAfter === undefined ? {} : { retryAfter }),
  }
  return HttpServerResponse.unsafeJson(body, { status: problem.status, contentType, headers })
}

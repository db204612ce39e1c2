import type { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { ProblemJson } from "../Problem.js"

const documented = (status: number, description: string) =>
  [ProblemJson.annotations({ description }), { status }] as const

export const conflict = documented(
  409,
  "`idempotency_conflict`: this clientMessageId was used by this sender for a different message",
)
export const rateLimited = documented(
  429,
  "`rate_limited`: too many sends by this user to this conversation; wait `Retry-After` seconds",
)

const e400 = documented(
  400,
  "`invalid_request`: `field` names what is missing or wrong (or the JSON is malformed)",
)
const e401 = documented(401, "`unauthorized`: no token, or an expired, malformed or wrongly signed one")
const e403 = documented(403, "`forbidden`, or `not_a_member` of the conversation")
const e404 = documented(
  404,
  "`conversation_not_found`, `message_not_found` (also for anything of another tenant), `not_found`",
)
const e413 = documented(413, "`payload_too_large`: the body is over 1 MiB")
const e415 = documented(415, "`unsupported_media_type`: a body that is not `application/json`")
const e500 = documented(500, "`internal_error`: logged on the server; nothing else leaks")
const e503 = documented(503, "`store_unavailable`: a dependency is down; retry")

/** Adds the problems every authenticated endpoint may answer with to a group. */
export const withCommonErrors = <
  Id extends string,
  Endpoints extends HttpApiEndpoint.HttpApiEndpoint.Any,
  E,
  R,
  TopLevel extends true | false,
>(
  group: HttpApiGroup.HttpApiGroup<Id, Endpoints, E, R, TopLevel>,
) =>
  group
    .addError(...e400)
    .addError(...e401)
    .addError(...e403)
    .addError(...e404)
    .addError(...e413)
    .addError(...e415)
    .addError(...e500)
    .addError(...e503)

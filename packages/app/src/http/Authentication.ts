import { Caller, Ids } from "@chat4all/domain"
import { HttpApiMiddleware, HttpApiSecurity, HttpServerRequest, OpenApi } from "@effect/platform"
import { Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { TokenVerifier } from "../auth/Jwt.js"
import * as Problem from "./Problem.js"

/** Who the request acts as: the token's tenant and user, or the user a service acts for. */
export class CurrentCaller extends Context.Tag("@chat4all/app/CurrentCaller")<
  CurrentCaller,
  Caller.Caller
>() {}

/** The header a service (or admin) token names the user it acts for with. */
export const actAsHeader = "x-chat4all-user"

/** Bearer JWT authentication for every `/v1` endpoint. */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("@chat4all/app/Authentication", {
  failure: Problem.ProblemJson,
  provides: CurrentCaller,
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "A JWT: `sub` (user id), `tid` (tenant id), `role` (`user` | `service` | `admin`, default `user`), " +
          "`exp`. HS256 with CHAT4ALL_JWT_SECRET, or RS256/ES256 from CHAT4ALL_JWKS_URL; any other algorithm, " +
          "an expired or malformed token: 401. The tenant comes from the token. A `service` or `admin` token " +
          "acts for a user of its tenant by naming them in the `X-Chat4All-User` header: the request then " +
          "reads and writes as that user (a send is sent by them, a receipt moves their horizon) with the " +
          "token's role, so it may read any conversation of the tenant and write system messages. A `user` " +
          "token may only name itself there (otherwise 403). `chat4all token --tenant T --user U` mints one.",
      ),
    ),
  },
}) {}

const decodeUser = Schema.decodeUnknownOption(Ids.UserId)

/** The caller from verified claims and the optional act-as header. */
export const callerOf = (
  claims: { readonly sub: Ids.UserId; readonly tid: Ids.TenantId; readonly role: Caller.Role },
  actAs: string | undefined,
): Effect.Effect<Caller.Caller, Problem.Problem> => {
  if (actAs === undefined || actAs === claims.sub)
    return Effect.succeed(new Caller.Caller({ tenantId: claims.tid, userId: claims.sub, role: claims.role }))
  const userId = decodeUser(actAs)
  if (Option.isNone(userId))
    return Effect.fail(
      Problem.invalidRequest("X-Chat4All-User", "must be 1-128 characters of A-Z a-z 0-9 . _ : -"),
    )
  if (claims.role === "user")
    return Effect.fail(Problem.forbidden("only service and admin tokens may act for another user"))
  return Effect.succeed(new Caller.Caller({ tenantId: claims.tid, userId: userId.value, role: claims.role }))
}

export const layer = Layer.effect(
  Authentication,
  Effect.gen(function* () {
    const verifier = yield* TokenVerifier
    return Authentication.of({
      bearer: (token) =>
        Effect.gen(function* () {
          const claims = yield* verifier.verify(Redacted.value(token)).pipe(
            Effect.catchTags({
              TokenRejected: (error) => Effect.fail(Problem.unauthorized(error.reason)),
              KeySetUnavailable: (error) =>
                Effect.zipRight(
                  Effect.logError("the JWKS endpoint could not be read", error.reason),
                  Effect.fail(
                    Problem.make(
                      503,
                      "identity_provider_unavailable",
                      "the key set that verifies tokens could not be read; retry shortly",
                    ),
                  ),
                ),
            }),
          )
          const request = yield* HttpServerRequest.HttpServerRequest
          const caller = yield* callerOf(claims, request.headers[actAsHeader])
          yield* Effect.annotateCurrentSpan({ tenantId: caller.tenantId, userId: caller.userId })
          return caller
        }),
    })
  }),
)

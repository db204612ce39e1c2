import { HttpApiMiddleware, HttpApiSecurity, HttpServerRequest, OpenApi } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { TokenVerifier } from "../auth/Jwt.js"
import { actAsHeader, CurrentCaller, callerOf } from "../http/Authentication.js"
import * as Problem from "../http/Problem.js"

/**
 * Authentication for file downloads: the bearer token of every other endpoint, or the same token as
 * `?access_token=` (API.md), for links a browser follows (`<img src>`, `<a href>`) where no header can be set.
 */
export class DownloadAuthentication extends HttpApiMiddleware.Tag<DownloadAuthentication>()(
  "@chat4all/app/DownloadAuthentication",
  {
    failure: Problem.ProblemJson,
    provides: CurrentCaller,
    security: {
      bearer: HttpApiSecurity.bearer,
      accessToken: HttpApiSecurity.apiKey({ key: "access_token", in: "query" }).pipe(
        HttpApiSecurity.annotate(
          OpenApi.Description,
          "The same JWT as the bearer token, in the query string, for links that cannot carry a header",
        ),
      ),
    },
  },
) {}

export const layer = Layer.effect(
  DownloadAuthentication,
  Effect.gen(function* () {
    const verifier = yield* TokenVerifier
    const authenticate = (token: Redacted.Redacted<string>) =>
      Effect.gen(function* () {
        const claims = yield* verifier.verify(Redacted.value(token)).pipe(
          Effect.catchTags({
            TokenRejected: (error) =>
              Effect.fail(
                Problem.unauthorized(
                  Redacted.value(token).length === 0
                    ? "send a token as Authorization: Bearer <token> or ?access_token=<token>"
                    : error.reason,
                ),
              ),
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
        return yield* callerOf(claims, request.headers[actAsHeader])
      })
    return DownloadAuthentication.of({
      bearer: authenticate,
      // Tried when the bearer token fails: with no ?access_token=, answer with the bearer token's own failure.
      accessToken: (token) =>
        Redacted.value(token).length > 0
          ? authenticate(token)
          : Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
              authenticate(Redacted.make((request.headers.authorization ?? "").replace(/^Bearer /i, ""))),
            ),
    })
  }),
)

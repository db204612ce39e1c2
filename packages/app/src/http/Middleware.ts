import {
  HttpApiError,
  HttpApp,
  HttpIncomingMessage,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse,
} from "@effect/platform"
import { Cause, Effect, Metric, Option } from "effect"
import { maxBodyBytes } from "../config.js"
import { httpInFlight, recordRequest } from "../observability/Metrics.js"
import * as DecodeIssues from "./DecodeIssues.js"
import { loggedUrl } from "./LoggedUrl.js"
import * as Problem from "./Problem.js"
import type { RouteTable } from "./Routes.js"

const bodyMethods = new Set(["POST", "PUT", "PATCH", "DELETE"])

const isJson = (contentType: string) => {
  const type = contentType.split(";")[0]!.trim().toLowerCase()
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"))
}

/** Refuses, before reading it, a body that is too large or not JSON. */
const screenBody = (request: HttpServerRequest.HttpServerRequest): Option.Option<Problem.Problem> => {
  // tus chunks under /v1/files are streamed to storage by the files handlers, which bound them themselves.
  if (!bodyMethods.has(request.method) || request.url.startsWith("/v1/files")) return Option.none()
  const length = request.headers["content-length"]
  if (length !== undefined && Number(length) > maxBodyBytes)
    return Option.some(
      Problem.make(
        413,
        "payload_too_large",
        `the body is ${length} bytes; at most ${maxBodyBytes} are accepted`,
      ),
    )
  const hasBody =
    (length !== undefined && length !== "0") || request.headers["transfer-encoding"] !== undefined
  const contentType = request.headers["content-type"]
  if (hasBody && contentType !== undefined && !isJson(contentType))
    return Option.some(
      Problem.make(415, "unsupported_media_type", `send the body as application/json, not ${contentType}`),
    )
  return Option.none()
}

/** The problem for a request that failed in the router, its middleware or its handler. */
const problemOf = (
  cause: Cause.Cause<unknown>,
  request: HttpServerRequest.HttpServerRequest,
  routes: RouteTable,
): Effect.Effect<Problem.Problem> => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (error instanceof Problem.Problem) return Effect.succeed(error)
    if (error instanceof HttpApiError.HttpApiDecodeError) {
      const { field, message } = DecodeIssues.describe(error.issues, error.message)
      return Effect.succeed(Problem.invalidRequest(field, message))
    }
    if (error instanceof HttpServerError.RouteNotFound) {
      const pathname = new URL(request.url, "http://localhost").pathname
      const { allowed } = routes.match(request.method, pathname)
      return Effect.succeed(
        allowed.length > 0
          ? Problem.make(
              405,
              "method_not_allowed",
              `${request.method} is not allowed here; use ${allowed.join(", ")}`,
            )
          : Problem.notFound(`no route for ${request.method} ${pathname}`),
      )
    }
  }
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect) && defect.value instanceof HttpServerError.RequestError) {
    const error = defect.value
    const reason = error.cause instanceof Error ? error.cause.message : String(error.cause)
    if (reason === "maxBytes exceeded")
      return Effect.succeed(
        Problem.make(413, "payload_too_large", `the body is over ${maxBodyBytes} bytes, the most accepted`),
      )
    if (error.cause instanceof SyntaxError)
      return Effect.succeed(Problem.invalidRequest("body", `is not valid JSON (${reason})`))
  }
  return Effect.as(Effect.logError("unhandled failure", cause), Problem.internal())
}

/**
 * Wraps the router: screens bodies (1 MiB, JSON only) and answers every failure as problem+json, so
 * nothing reaches the client as a stack trace or a framework-shaped error.
 */
export const problems =
  (routes: RouteTable) =>
  (app: HttpApp.Default): HttpApp.Default =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const refused = screenBody(request)
      if (Option.isSome(refused)) return Problem.toResponse(refused.value)
      return yield* app.pipe(
        HttpIncomingMessage.withMaxBodySize(Option.some(maxBodyBytes)),
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause)
            : Effect.map(problemOf(cause, request, routes), (problem) => {
                const response = Problem.toResponse(problem)
                return problem.status === 405
                  ? HttpServerResponse.setHeader(
                      response,
                      "allow",
                      routes
                        .match(request.method, new URL(request.url, "http://localhost").pathname)
                        .allowed.join(", "),
                    )
                  : response
              }),
        ),
      )
    })

/**
 * The outermost layer (it sees the response once it is sent): a request id (`X-Request-Id`, kept when
 * the client sends a sane one), metrics by route, and a debug-level access log with the id.
 */
export const observe =
  (routes: RouteTable) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const start = performance.now()
      const given = request.headers["x-request-id"]
      const requestId =
        given !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : crypto.randomUUID()
      const pathname = request.url.split("?")[0]!
      const { route } = routes.match(request.method, pathname)
      yield* HttpApp.appendPreResponseHandler((_, response) =>
        Effect.succeed(HttpServerResponse.setHeader(response, "x-request-id", requestId)),
      )
      yield* Metric.incrementBy(httpInFlight, 1)
      const response = yield* app.pipe(
        Effect.annotateLogs({ requestId, method: request.method, route }),
        Effect.ensuring(Metric.incrementBy(httpInFlight, -1)),
      )
      const seconds = (performance.now() - start) / 1000
      yield* recordRequest(request.method, route, response.status, seconds)
      yield* Effect.logDebug("http").pipe(
        Effect.annotateLogs({
          requestId,
          method: request.method,
          url: loggedUrl(request.url),
          status: response.status,
          ms: Math.round(seconds * 1e4) / 10,
        }),
      )
      return response
    })

import type { Errors, EventLog, Fanout } from "@chat4all/domain"
import { Effect } from "effect"
import * as Problem from "./Problem.js"

/** Every error a use case can end with. */
export type DomainError =
  | Errors.InvalidRequest
  | Errors.Forbidden
  | Errors.NotAMember
  | Errors.ConversationNotFound
  | Errors.MessageNotFound
  | Errors.IdempotencyConflict
  | Errors.RateLimited
  | Errors.StoreUnavailable
  | EventLog.InvalidCursor
  | Fanout.FanoutUnavailable

/** The problem a domain error answers with; its `code` is the one the domain error carries. */
export const toProblem = (error: DomainError): Problem.Problem => {
  switch (error._tag) {
    case "InvalidRequest":
      return Problem.invalidRequest(error.field, error.message)
    case "InvalidCursor":
      return Problem.invalidRequest("since", error.message)
    case "Forbidden":
      return Problem.make(403, error.code, error.message)
    case "NotAMember":
      return Problem.make(403, error.code, error.message)
    case "ConversationNotFound":
    case "MessageNotFound":
      return Problem.make(404, error.code, error.message)
    case "IdempotencyConflict":
      return Problem.make(409, error.code, error.message)
    case "RateLimited":
      return Problem.make(429, error.code, error.message, {
        retryAfter: Math.max(1, Math.ceil(error.retryAfterMs / 1000)),
      })
    case "StoreUnavailable":
      return Problem.make(503, error.code, `storage is unavailable (${error.operation}); retry shortly`)
    case "FanoutUnavailable":
      return Problem.make(503, error.code, `event fanout is unavailable (${error.operation}); retry shortly`)
  }
}

/** Runs a use case and turns its errors into problems; server-side failures are logged with their cause. */
export const problems = <A, E extends DomainError, R>(
  effect: Effect.Effect<A, E, R>,
): Effect.Effect<A, Problem.Problem, R> =>
  Effect.catchAll(effect, (error: DomainError) => {
    const problem = toProblem(error)
    return problem.status >= 500
      ? Effect.zipRight(Effect.logError(problem.detail, error), Effect.fail(problem))
      : Effect.fail(problem)
  })

import type { InvalidSettings, UnknownConnector } from "@chat4all/connectors"
import type { ConnectorConfig } from "@chat4all/domain"
import { Effect } from "effect"
import type { SealError } from "../../connectors/ConnectorSecrets.js"
import { type DomainError, problems } from "../DomainErrors.js"
import * as Problem from "../Problem.js"

/** The errors of identities and connector settings, beside the app's domain errors. */
export type ConnectorError =
  | ConnectorConfig.IdentityNotFound
  | ConnectorConfig.IdentityConflict
  | ConnectorConfig.ConnectorNotConfigured
  | UnknownConnector
  | InvalidSettings
  | SealError

const titled = (status: number, code: string, title: string, detail: string, field?: string) =>
  new Problem.Problem(
    { ...Problem.make(status, code, detail, field === undefined ? {} : { field }), title },
    { disableValidation: true },
  )

const isConnectorError = (error: ConnectorError | DomainError): error is ConnectorError =>
  error._tag === "IdentityNotFound" ||
  error._tag === "IdentityConflict" ||
  error._tag === "ConnectorNotConfigured" ||
  error._tag === "UnknownConnector" ||
  error._tag === "InvalidSettings" ||
  error._tag === "SealError"

const toProblem = (error: ConnectorError): Problem.Problem => {
  switch (error._tag) {
    case "IdentityNotFound":
      return titled(404, error.code, "Channel identity not found", error.message)
    case "IdentityConflict":
      return titled(409, error.code, "Address taken", error.message)
    case "ConnectorNotConfigured":
    case "UnknownConnector":
      return titled(404, "connector_not_found", "Connector not found", error.message)
    case "InvalidSettings":
      return Problem.invalidRequest(
        error.field === "" ? "body" : error.field,
        error.detail.replace(/^[^:]*: /, ""),
      )
    case "SealError":
      return Problem.internal()
  }
}

/** Runs a use case and answers its errors as problems; server-side ones are logged with their cause. */
export const answer = <A, E extends ConnectorError | DomainError, R>(
  effect: Effect.Effect<A, E, R>,
): Effect.Effect<A, Problem.Problem, R> =>
  Effect.catchAll(effect, (error: ConnectorError | DomainError) => {
    if (!isConnectorError(error)) return problems(Effect.fail(error))
    const problem = toProblem(error)
    return problem.status >= 500
      ? Effect.zipRight(Effect.logError(`connector settings: ${error.message}`), Effect.fail(problem))
      : Effect.fail(problem)
  })

import type { Errors, File } from "@chat4all/domain"
import { Data, Effect } from "effect"
import * as DomainErrors from "../http/DomainErrors.js"
import * as Problem from "../http/Problem.js"

/** A chunk's body that ended in an error (the connection broke, or it was malformed) before its end. */
export class BodyBrokenOff extends Data.TaggedError("BodyBrokenOff")<{ readonly reason: string }> {}

/** Every error a files use case can end with. */
export type FilesError =
  | BodyBrokenOff
  | Errors.InvalidRequest
  | Errors.ConversationNotFound
  | Errors.NotAMember
  | Errors.StoreUnavailable
  | File.FileNotFound
  | File.UploadExpired
  | File.UploadOffsetMismatch
  | File.UploadFinished
  | File.ChecksumMismatch
  | File.FileTooLarge
  | File.FileNotReady

const problem = (status: number, code: string, title: string, detail: string) =>
  new Problem.Problem(
    { type: `urn:chat4all:problem:${code}`, title, status, code, detail },
    { disableValidation: true },
  )

/** tus answers a failed chunk checksum with this status (the checksum extension's "460 Checksum Mismatch"). */
export const checksumMismatchStatus = 460

export const toProblem = (error: FilesError): Problem.Problem => {
  switch (error._tag) {
    case "FileNotFound":
      return problem(404, error.code, "File not found", error.message)
    case "UploadExpired":
      return problem(410, error.code, "Upload expired", error.message)
    case "UploadOffsetMismatch":
      return problem(409, error.code, "Upload offset mismatch", error.message)
    case "UploadFinished":
      return problem(409, error.code, "Upload already finished", error.message)
    case "ChecksumMismatch":
      return problem(checksumMismatchStatus, error.code, "Checksum mismatch", error.message)
    case "FileTooLarge":
      return problem(413, error.code, "Payload too large", error.message)
    case "FileNotReady":
      return problem(409, error.code, "File not ready", error.message)
    case "BodyBrokenOff":
      return Problem.invalidRequest(
        "body",
        `broke off before its end (${error.reason}); what arrived is kept, resume from Upload-Offset`,
      )
    default:
      return DomainErrors.toProblem(error)
  }
}

/** Runs a files use case and turns its errors into problems; server-side failures are logged. */
export const problems = <A, E extends FilesError, R>(
  effect: Effect.Effect<A, E, R>,
): Effect.Effect<A, Problem.Problem, R> =>
  Effect.catchAll(effect, (error: FilesError) => {
    const p = toProblem(error)
    return p.status >= 500
      ? Effect.zipRight(Effect.logError(p.detail, error), Effect.fail(p))
      : Effect.fail(p)
  })

import { File, Files, Ids } from "@chat4all/domain"
import { HttpApiBuilder, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Either, Schema, Stream } from "effect"
import { CurrentCaller } from "../http/Authentication.js"
import * as Problem from "../http/Problem.js"
import { BodyBrokenOff, problems, toProblem } from "./FileErrors.js"
import { FilesOnlyApi } from "./FilesApi.js"
import { fromFile } from "./FileView.js"
import * as Range from "./Range.js"
import { FilesSettings } from "./Settings.js"
import * as Tus from "./Tus.js"

/** A problem as a tus response: with `Tus-Resumable`, and `Tus-Version` on a 412. */
const tusProblem = (problem: Problem.Problem, extra: Record<string, string> = {}) =>
  HttpServerResponse.setHeaders(Problem.toResponse(problem), {
    ...Tus.baseHeaders,
    ...(problem.status === 412 ? { "tus-version": Tus.version } : {}),
    ...extra,
  })

/** Runs a tus handler: every failure is answered as a problem that still speaks tus. */
const tus = <R>(handler: Effect.Effect<HttpServerResponse.HttpServerResponse, Problem.Problem, R>) =>
  Effect.catchAll(handler, (problem) => Effect.succeed(tusProblem(problem)))

const tusResponse = (status: number, headers: Record<string, string>) =>
  HttpServerResponse.empty({ status, headers: { ...Tus.baseHeaders, ...headers } })

const requireTus = (request: HttpServerRequest.HttpServerRequest) => {
  const given = request.headers["tus-resumable"]
  return given === Tus.version
    ? Effect.void
    : Effect.fail(
        Problem.make(
          412,
          "unsupported_tus_version",
          given === undefined
            ? "send Tus-Resumable: 1.0.0 with every tus request"
            : `Tus-Resumable ${given} is not supported; this server speaks ${Tus.version}`,
        ),
      )
}

const refused = <A>(parsed: Either.Either<A, Tus.Refusal>) =>
  Either.match(parsed, {
    onLeft: (refusal) => Effect.fail(Problem.invalidRequest(refusal.field, refusal.message)),
    onRight: (value) => Effect.succeed(value),
  })

/** A metadata value through a domain schema, refused with the key's name when it does not fit. */
const decodeField = <A, I>(schema: Schema.Schema<A, I>, key: string, value: I) =>
  Schema.decodeEither(schema)(value).pipe(
    Either.mapLeft((error) => ({
      field: `Upload-Metadata.${key}`,
      message:
        error.issue._tag === "Refinement" || error.issue._tag === "Type" ? messageOf(error) : "is invalid",
    })),
    refused,
  )

const messageOf = (error: { readonly message: string }) => {
  // The last line of a ParseError is the innermost reason ("must be ...").
  const lines = error.message.split("\n")
  return (lines[lines.length - 1] ?? error.message).replace(/^[\s└─]+/, "")
}

const requireChunkType = (request: HttpServerRequest.HttpServerRequest) => {
  const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
  return type === Tus.chunkContentType
    ? Effect.void
    : Effect.fail(
        Problem.make(
          415,
          "unsupported_media_type",
          `send chunks as ${Tus.chunkContentType}, not ${request.headers["content-type"] ?? "without a Content-Type"}`,
        ),
      )
}

const expiresHeader = (file: File.FileRecord): Record<string, string> =>
  file.status === "uploading" && file.expiresAt !== null
    ? { "upload-expires": Tus.httpDate(file.expiresAt) }
    : {}

const location = (file: File.FileRecord) => `/v1/files/${file.id}`

/** What a request's chunk is: where it claims to start, its length and checksum when given, its body. */
const chunkOf = (request: HttpServerRequest.HttpServerRequest, offset: number) =>
  Effect.gen(function* () {
    const length = yield* refused(Tus.parseLength("Content-Length", request.headers["content-length"]))
    const checksum = yield* refused(Tus.parseChecksum(request.headers["upload-checksum"]))
    const data = request.stream.pipe(
      Stream.mapError((error) => new BodyBrokenOff({ reason: String(error.cause ?? error.reason) })),
    )
    return { offset, length, checksum, data } satisfies Files.UploadChunk<BodyBrokenOff>
  })

export const TusHandlers = HttpApiBuilder.group(FilesOnlyApi, "tus", (handlers) =>
  handlers.handleRaw("options", () =>
    Effect.succeed(
      tusResponse(204, {
        "tus-version": Tus.version,
        "tus-extension": Tus.extensions,
        "tus-max-size": String(File.maxFileSize),
        "tus-checksum-algorithm": Tus.checksumAlgorithms,
      }),
    ),
  ),
)

export const FilesHandlers = HttpApiBuilder.group(FilesOnlyApi, "files", (handlers) =>
  Effect.gen(function* () {
    const settings = yield* FilesSettings
    return handlers
      .handleRaw("create", ({ request }) =>
        tus(
          Effect.gen(function* () {
            const caller = yield* CurrentCaller
            yield* requireTus(request)
            if (request.headers["upload-defer-length"] !== undefined)
              return yield* Effect.fail(
                Problem.invalidRequest(
                  "Upload-Defer-Length",
                  "is not supported (no creation-defer-length): send Upload-Length",
                ),
              )
            const length = yield* refused(Tus.parseLength("Upload-Length", request.headers["upload-length"]))
            if (length === undefined)
              return yield* Effect.fail(Problem.invalidRequest("Upload-Length", "is required"))
            if (length > File.maxFileSize)
              return yield* Effect.fail(
                Problem.make(
                  413,
                  "payload_too_large",
                  `Upload-Length is ${length} bytes; at most ${File.maxFileSize} (Tus-Max-Size) are accepted`,
                ),
              )
            const metadata = yield* refused(Tus.parseMetadata(request.headers["upload-metadata"]))
            if (metadata.filename === undefined)
              return yield* Effect.fail(Problem.invalidRequest("Upload-Metadata.filename", "is required"))
            const name = yield* decodeField(File.FileName, "filename", metadata.filename)
            const mimeType =
              metadata.filetype === undefined || metadata.filetype === ""
                ? File.defaultMimeType
                : yield* decodeField(File.MimeType, "filetype", metadata.filetype)
            const sha256 =
              metadata.sha256 === undefined
                ? undefined
                : yield* decodeField(File.Sha256Hex, "sha256", metadata.sha256.toLowerCase())
            const conversationId =
              metadata.conversationId === undefined
                ? undefined
                : yield* decodeField(Ids.ConversationId, "conversationId", metadata.conversationId)
            const contentLength = yield* refused(
              Tus.parseLength("Content-Length", request.headers["content-length"]),
            )
            const withUpload =
              (contentLength !== undefined && contentLength > 0) ||
              (contentLength === undefined && request.headers["transfer-encoding"] !== undefined)
            if (withUpload) yield* requireChunkType(request)
            const chunk = withUpload ? yield* chunkOf(request, 0) : undefined

            const created = yield* problems(
              Files.createUpload(caller, { length, name, mimeType, sha256, conversationId }, settings),
            )
            if (chunk === undefined)
              return tusResponse(201, { location: location(created), ...expiresHeader(created) })
            const appended = yield* Files.appendUpload(caller, created.id, chunk, settings).pipe(
              Effect.catchTags({
                // The first chunk failed its own checksum or overran the length: nothing is created, as if
                // the request never came. A whole-file mismatch leaves a failed upload: say where it is.
                ChecksumMismatch: (error) =>
                  error.scope === "file"
                    ? Effect.succeed(tusProblem(toProblem(error), { location: location(created) }))
                    : Effect.zipRight(
                        Effect.ignore(Files.terminateUpload(caller, created.id)),
                        Effect.fail(error),
                      ),
                FileTooLarge: (error) =>
                  Effect.zipRight(
                    Effect.ignore(Files.terminateUpload(caller, created.id)),
                    Effect.fail(error),
                  ),
              }),
              problems,
            )
            if (HttpServerResponse.isServerResponse(appended)) return appended
            return tusResponse(201, {
              location: location(created),
              "upload-offset": String(appended.offset),
              ...expiresHeader(appended),
            })
          }),
        ),
      )
      .handleRaw("status", ({ path, request }) =>
        tus(
          Effect.gen(function* () {
            const caller = yield* CurrentCaller
            yield* requireTus(request)
            const file = yield* problems(Files.uploadStatus(caller, path.fileId))
            if (file.status === "failed")
              return yield* Effect.fail(
                Problem.make(
                  410,
                  "upload_failed",
                  `upload ${file.id} failed its sha256 check; start a new upload`,
                ),
              )
            return tusResponse(200, {
              "upload-offset": String(file.offset),
              "upload-length": String(file.size),
              "upload-metadata": Tus.formatMetadata(file),
              "cache-control": "no-store",
              ...expiresHeader(file),
            })
          }),
        ),
      )
      .handleRaw("append", ({ path, request }) =>
        tus(
          Effect.gen(function* () {
            const caller = yield* CurrentCaller
            yield* requireTus(request)
            yield* requireChunkType(request)
            const offset = yield* refused(Tus.parseLength("Upload-Offset", request.headers["upload-offset"]))
            if (offset === undefined)
              return yield* Effect.fail(Problem.invalidRequest("Upload-Offset", "is required"))
            const chunk = yield* chunkOf(request, offset)
            const file = yield* problems(Files.appendUpload(caller, path.fileId, chunk, settings))
            return tusResponse(204, { "upload-offset": String(file.offset), ...expiresHeader(file) })
          }),
        ),
      )
      .handleRaw("terminate", ({ path, request }) =>
        tus(
          Effect.gen(function* () {
            const caller = yield* CurrentCaller
            yield* requireTus(request)
            yield* problems(Files.terminateUpload(caller, path.fileId))
            return tusResponse(204, {})
          }),
        ),
      )
      .handle("get", ({ path }) =>
        Effect.gen(function* () {
          const caller = yield* CurrentCaller
          return fromFile(yield* problems(Files.getFile(caller, path.fileId)))
        }),
      )
  }),
)

/** `attachment` with the name as an ASCII fallback and as UTF-8 (RFC 6266). */
const contentDisposition = (name: string) =>
  `attachment; filename="${name.replace(/[^\x20-\x7e]|["\\%]/g, "_")}"; filename*=UTF-8''${encodeURIComponent(name)}`

export const FileContentHandlers = HttpApiBuilder.group(FilesOnlyApi, "fileContent", (handlers) =>
  handlers.handleRaw("content", ({ path, request }) =>
    Effect.gen(function* () {
      const caller = yield* CurrentCaller
      const { file, read } = yield* problems(Files.fileContent(caller, path.fileId))
      const etag = `"${file.sha256}"`
      const headers: Record<string, string> = {
        "accept-ranges": "bytes",
        etag,
        "content-disposition": contentDisposition(file.name),
        "cache-control": "private, no-cache",
        "x-content-type-options": "nosniff",
        "content-security-policy": "sandbox; default-src 'none'",
      }
      if (request.headers["if-none-match"]?.split(",").some((tag) => tag.trim() === etag))
        return HttpServerResponse.empty({ status: 304, headers })
      const requested = Range.parse(request.headers.range, file.size)
      if (requested._tag === "Unsatisfiable")
        return HttpServerResponse.setHeaders(
          Problem.toResponse(
            Problem.make(
              416,
              "range_not_satisfiable",
              `${request.headers.range} is outside the file's ${file.size} bytes`,
            ),
          ),
          { "content-range": Range.contentRange(requested, file.size) },
        )
      const [status, start, end] =
        requested._tag === "Partial" ? [206, requested.start, requested.end] : [200, 0, file.size]
      if (requested._tag === "Partial") headers["content-range"] = Range.contentRange(requested, file.size)
      if (request.method === "HEAD")
        return HttpServerResponse.empty({
          status,
          headers: { ...headers, "content-type": file.mimeType, "content-length": String(end - start) },
        })
      return HttpServerResponse.stream(read(requested._tag === "Partial" ? { start, end } : undefined), {
        status,
        contentType: file.mimeType,
        contentLength: end - start,
        headers,
      })
    }),
  ),
)

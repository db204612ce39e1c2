import { Ids } from "@chat4all/domain"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Authentication } from "../http/Authentication.js"
import { ProblemJson } from "../http/Problem.js"
import { DownloadAuthentication } from "./DownloadAuthentication.js"
import { checksumMismatchStatus } from "./FileErrors.js"
import { FileView } from "./FileView.js"

const documented = (status: number, description: string) =>
  [ProblemJson.annotations({ description }), { status }] as const

const e400 = documented(
  400,
  "`invalid_request`: `field` names the header (`Upload-Length`, `Upload-Offset`, `Upload-Checksum`, `Upload-Metadata.<key>`) or parameter that is missing or wrong",
)
const e401 = documented(401, "`unauthorized`: no token, or an expired, malformed or wrongly signed one")
const e403 = documented(403, "`not_a_member` of the conversation named in Upload-Metadata")
const e404 = documented(
  404,
  "`file_not_found`: no such file for this caller (another tenant's, another user's upload, a file never sent to a conversation of theirs), or `conversation_not_found`",
)
const e409 = documented(
  409,
  "`upload_offset_mismatch`: Upload-Offset is not where the upload is (HEAD, then resume from there); `upload_finished`: the upload takes no more bytes",
)
const e410 = documented(410, "`upload_expired`: the unfinished upload ran out of time and is (being) removed")
const e412 = documented(
  412,
  "`unsupported_tus_version`: Tus-Resumable is missing or not 1.0.0 (see Tus-Version)",
)
const e413 = documented(
  413,
  "`payload_too_large`: Upload-Length over Tus-Max-Size (2147483648), or a chunk past the upload's length",
)
const e415 = documented(
  415,
  "`unsupported_media_type`: a chunk whose Content-Type is not application/offset+octet-stream",
)
const e460 = documented(
  checksumMismatchStatus,
  "`checksum_mismatch`: the chunk does not match Upload-Checksum (it was discarded; resend it), or, on the last chunk, the whole file does not match the sha256 of Upload-Metadata (the upload is `failed`)",
)
const e503 = documented(503, "`store_unavailable`: storage is down; retry")

const FilePath = Schema.Struct({ fileId: Ids.FileId })

const optional = (description: string) => Schema.optional(Schema.String.annotations({ description }))
const tusResumable = optional("`1.0.0`: required on every tus request but OPTIONS")
const chunkHeaders = {
  "tus-resumable": tusResumable,
  "upload-offset": optional("Where this chunk starts: the upload's current offset"),
  "upload-checksum": optional(
    "`<sha1|sha256|md5> <base64 digest>` of this chunk: it is kept only if it matches (else 460)",
  ),
  "content-type": optional("`application/offset+octet-stream`"),
}

const Chunk = HttpApiSchema.Uint8Array({ contentType: "application/offset+octet-stream" }).annotations({
  description: "The chunk's bytes, streamed to storage as they arrive",
})

/** tus discovery: no token needed. */
export const TusApi = HttpApiGroup.make("tus").add(
  HttpApiEndpoint.options("options", "/v1/files")
    .addSuccess(HttpApiSchema.NoContent)
    .annotate(OpenApi.Summary, "tus capabilities")
    .annotate(
      OpenApi.Description,
      "Answers 204 with `Tus-Version: 1.0.0`, `Tus-Extension: creation,creation-with-upload,checksum,expiration,termination`, `Tus-Max-Size: 2147483648` and `Tus-Checksum-Algorithm: sha1,sha256,md5`.",
    ),
)

/** Uploads (tus 1.0.0) and file metadata, with the bearer token of the rest of the API. */
export const FilesApi = HttpApiGroup.make("files")
  .add(
    HttpApiEndpoint.post("create", "/v1/files")
      .setHeaders(
        Schema.Struct({
          "tus-resumable": tusResumable,
          "upload-length": optional("The file's size in bytes, at most 2147483648"),
          "upload-metadata": optional(
            "Comma-separated `key base64(value)`: `filename` (required), `filetype` (a media type), `conversationId` (a conversation the caller can read), `sha256` (hex digest of the whole file, checked when the last byte lands)",
          ),
          "upload-checksum": chunkHeaders["upload-checksum"],
          "content-type": optional(
            "`application/offset+octet-stream` when the request carries the first chunk",
          ),
        }),
      )
      .setPayload(Chunk)
      .addSuccess(HttpApiSchema.Created)
      .addError(...e400)
      .addError(...e401)
      .addError(...e403)
      .addError(...e404)
      .addError(...e412)
      .addError(...e413)
      .addError(...e460)
      .addError(...e503)
      .annotate(OpenApi.Summary, "Create an upload (tus creation, creation-with-upload)")
      .annotate(
        OpenApi.Description,
        "201 with `Location` (the upload's URL), `Upload-Expires` and, when the request carried bytes, `Upload-Offset`. The upload belongs to the caller's tenant and user. An empty file is ready at once.",
      ),
  )
  .add(
    HttpApiEndpoint.head("status", "/v1/files/:fileId")
      .setPath(FilePath)
      .setHeaders(Schema.Struct({ "tus-resumable": tusResumable }))
      .addSuccess(HttpApiSchema.Empty(200))
      .addError(...e401)
      .addError(...e404)
      .addError(...e410)
      .addError(...e412)
      .annotate(OpenApi.Summary, "Where an upload is (tus HEAD)")
      .annotate(
        OpenApi.Description,
        "200 with `Upload-Offset`, `Upload-Length`, `Upload-Metadata`, `Upload-Expires` (while unfinished) and `Cache-Control: no-store`. The uploader's only. A failed upload answers 410: start a new one.",
      ),
  )
  .add(
    HttpApiEndpoint.patch("append", "/v1/files/:fileId")
      .setPath(FilePath)
      .setHeaders(Schema.Struct(chunkHeaders))
      .setPayload(Chunk)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(...e400)
      .addError(...e401)
      .addError(...e404)
      .addError(...e409)
      .addError(...e410)
      .addError(...e412)
      .addError(...e413)
      .addError(...e415)
      .addError(...e460)
      .addError(...e503)
      .annotate(OpenApi.Summary, "Append a chunk (tus PATCH)")
      .annotate(
        OpenApi.Description,
        "204 with the new `Upload-Offset` (and `Upload-Expires` while unfinished). A body cut off midway keeps what arrived (unless it carried Upload-Checksum); resume from the offset HEAD answers. When the last byte lands the whole file's sha256 is checked against the declared one: the file becomes `ready`, or `failed` (460 `checksum_mismatch`).",
      ),
  )
  .add(
    HttpApiEndpoint.del("terminate", "/v1/files/:fileId")
      .setPath(FilePath)
      .setHeaders(Schema.Struct({ "tus-resumable": tusResumable }))
      .addSuccess(HttpApiSchema.NoContent)
      .addError(...e401)
      .addError(...e404)
      .addError(...e412)
      .addError(...e503)
      .annotate(OpenApi.Summary, "Delete a file or an upload (tus termination)")
      .annotate(
        OpenApi.Description,
        "By its uploader, or a service or admin of the tenant. Its bytes go with it.",
      ),
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/files/:fileId")
      .setPath(FilePath)
      .addSuccess(FileView)
      .addError(...e401)
      .addError(...e404)
      .addError(...e410)
      .addError(...e503)
      .annotate(OpenApi.Summary, "A file's metadata")
      .annotate(
        OpenApi.Description,
        "Readable by its uploader, services and admins of the tenant, and the members of every conversation a message sent it to.",
      ),
  )
  .middleware(Authentication)

const e416 = documented(
  416,
  "`range_not_satisfiable`: the Range starts past the end (see `Content-Range: bytes */size`)",
)

/** File bytes: the bearer token, or `?access_token=`. */
export const FileContentApi = HttpApiGroup.make("fileContent")
  .add(
    HttpApiEndpoint.get("content", "/v1/files/:fileId/content")
      .setPath(FilePath)
      .setHeaders(
        Schema.Struct({
          range: optional("One byte range, e.g. `bytes=0-1023`, `bytes=1024-`, `bytes=-500`"),
        }),
      )
      .addSuccess(HttpApiSchema.Uint8Array({ contentType: "application/octet-stream" }))
      .addSuccess(
        HttpApiSchema.Uint8Array({ contentType: "application/octet-stream" }).annotations({
          description: "The requested range, with Content-Range",
        }),
        { status: 206 },
      )
      .addError(...e401)
      .addError(...e404)
      .addError(...documented(409, "`file_not_ready`: the file is still uploading, or failed its checksum"))
      .addError(...e416)
      .addError(...e503)
      .annotate(OpenApi.Summary, "A file's bytes, whole or a range")
      .annotate(
        OpenApi.Description,
        "Streams the file with its media type, `Content-Length`, `Accept-Ranges: bytes`, an `ETag` (its sha256) and `Content-Disposition` with its name. The same readers as the metadata.",
      ),
  )
  .middleware(DownloadAuthentication)

/**
 * The files groups on their own, under the app's API id: the handlers are built against it, and they
 * implement the same groups when `Api` adds `TusApi`, `FilesApi` and `FileContentApi`.
 */
export class FilesOnlyApi extends HttpApi.make("chat4all").add(TusApi).add(FilesApi).add(FileContentApi) {}

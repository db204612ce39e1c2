import type { File } from "@chat4all/domain"
import { Either } from "effect"

/**
 * The tus 1.0.0 wire: its headers, and how their values are read and written. Parsing answers
 * `Either<value, Refusal>`; a refusal names the header (the problem's `field`) and what is wrong with it.
 *
 * Why not `@tus/server` (2.4.5, installed): it has no checksum extension (no `Upload-Checksum`, no 460),
 * and its `DataStore.write(stream, id, offset)` never sees the request's headers, so a chunk cannot be
 * checked, let alone discarded, by a store either; the whole-file sha256, the tenant and user of an upload,
 * and problem+json errors would all sit outside it too. The protocol itself is small: these parsers, the
 * handlers in FilesHandlers.ts and the Files use cases implement it over the BlobStore and FileStore ports.
 */

export const version = "1.0.0"
export const extensions = "creation,creation-with-upload,checksum,expiration,termination"
export const checksumAlgorithms = "sha1,sha256,md5"
/** The only body type a chunk may come as. */
export const chunkContentType = "application/offset+octet-stream"

/** Headers every tus response carries. */
export const baseHeaders = { "tus-resumable": version } as const

export interface Refusal {
  readonly field: string
  readonly message: string
}

const refuse = (field: string, message: string) => Either.left<Refusal>({ field, message })

/** A non-negative integer header (`Upload-Offset`, `Upload-Length`, `Content-Length`). */
export const parseLength = (
  field: string,
  value: string | undefined,
): Either.Either<number | undefined, Refusal> => {
  if (value === undefined) return Either.right(undefined)
  if (!/^[0-9]{1,16}$/.test(value)) return refuse(field, "must be a whole number of bytes, 0 or more")
  const n = Number(value)
  return Number.isSafeInteger(n) ? Either.right(n) : refuse(field, "is too large")
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const utf8 = new TextDecoder("utf-8", { fatal: true })

/** The longest `Upload-Metadata` accepted: room for a long file name and every known key. */
export const maxMetadataLength = 4096

/**
 * `Upload-Metadata`: comma-separated `key base64(value)` pairs (a key alone means an empty value). Keys
 * are unique and free of spaces and commas; values are base64 of UTF-8.
 */
export const parseMetadata = (header: string | undefined): Either.Either<Record<string, string>, Refusal> => {
  const field = "Upload-Metadata"
  const pairs: Record<string, string> = {}
  if (header === undefined || header.trim() === "") return Either.right(pairs)
  if (header.length > maxMetadataLength)
    return refuse(field, `must be at most ${maxMetadataLength} characters`)
  for (const raw of header.split(",")) {
    const pair = raw.trim()
    const [key, value, extra] = pair.split(" ")
    if (key === undefined || key === "" || extra !== undefined)
      return refuse(field, `"${pair}" is not a "key base64value" pair`)
    if (!/^[\x21-\x7e]+$/.test(key))
      return refuse(field, `key "${key}" must be printable ASCII without spaces`)
    if (Object.hasOwn(pairs, key)) return refuse(field, `key "${key}" appears twice`)
    if (value !== undefined && !base64Pattern.test(value))
      return refuse(`${field}.${key}`, "must be base64 (RFC 4648, padded)")
    try {
      pairs[key] = value === undefined ? "" : utf8.decode(Buffer.from(value, "base64"))
    } catch {
      return refuse(`${field}.${key}`, "must be base64 of UTF-8 text")
    }
  }
  return Either.right(pairs)
}

/** `Upload-Metadata` for a file, as HEAD answers it (the keys the server keeps, base64 of UTF-8). */
export const formatMetadata = (file: File.FileRecord): string => {
  const pairs: Array<[string, string]> = [
    ["filename", file.name],
    ["filetype", file.mimeType],
  ]
  if (file.conversationId !== null) pairs.push(["conversationId", file.conversationId])
  if (file.sha256 !== null) pairs.push(["sha256", file.sha256])
  return pairs.map(([k, v]) => `${k} ${Buffer.from(v, "utf8").toString("base64")}`).join(",")
}

const digestBytes: Record<File.ChecksumAlgorithm, number> = { sha1: 20, sha256: 32, md5: 16 }

/** `Upload-Checksum: <algorithm> <base64 digest>`, answered as the algorithm and the digest in hex. */
export const parseChecksum = (
  header: string | undefined,
): Either.Either<
  { readonly algorithm: File.ChecksumAlgorithm; readonly digest: string } | undefined,
  Refusal
> => {
  const field = "Upload-Checksum"
  if (header === undefined) return Either.right(undefined)
  const [algorithm, encoded, extra] = header.trim().split(" ")
  if (algorithm === undefined || encoded === undefined || extra !== undefined)
    return refuse(field, 'must be "<algorithm> <base64 digest>"')
  if (!(algorithm in digestBytes))
    return refuse(field, `algorithm "${algorithm}" is not supported; use one of ${checksumAlgorithms}`)
  const name = algorithm as File.ChecksumAlgorithm
  if (!base64Pattern.test(encoded)) return refuse(field, "the digest must be base64 (RFC 4648, padded)")
  const digest = Buffer.from(encoded, "base64")
  if (digest.length !== digestBytes[name])
    return refuse(field, `a ${name} digest is ${digestBytes[name]} bytes, not ${digest.length}`)
  return Either.right({ algorithm: name, digest: digest.toString("hex") })
}

/** `Upload-Expires` and other HTTP dates: RFC 9110 IMF-fixdate. */
export const httpDate = (millis: number): string => new Date(millis).toUTCString()

import { Schema } from "effect"
import { ConversationId, FileId, TenantId, UserId } from "./Ids.js"

/** The largest file accepted, in bytes: 2 GiB (`Tus-Max-Size`). */
export const maxFileSize = 2_147_483_648

/** `uploading` until the last byte lands; then `ready`, or `failed` when the whole-file sha256 disagrees. */
export const FileStatus = Schema.Literal("uploading", "ready", "failed")
export type FileStatus = typeof FileStatus.Type

/** A sha256 as 64 lower-case hex digits. */
export const Sha256Hex = Schema.String.pipe(
  Schema.pattern(/^[0-9a-f]{64}$/, { message: () => "must be a sha256 as 64 lower-case hex digits" }),
)

/**
 * A file's name as the uploader gave it: 1-255 characters, no control characters, no path separators and
 * not `.` or `..`. It is only ever metadata (blobs are stored by file id), but a name that looks like a
 * path is refused rather than trusted to stay harmless downstream.
 */
export const FileName = Schema.String.pipe(
  Schema.minLength(1, { message: () => "must not be empty" }),
  Schema.maxLength(255, { message: () => "must be at most 255 characters" }),
  Schema.filter((name) =>
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    /[\u0000-\u001f\u007f/\\]/.test(name)
      ? "must not contain control characters, / or \\"
      : name === "." || name === ".."
        ? "must not be . or .."
        : undefined,
  ),
)

/** A media type `type/subtype`, optionally with parameters; at most 255 characters. */
export const MimeType = Schema.String.pipe(
  Schema.maxLength(255, { message: () => "must be at most 255 characters" }),
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;[\x20-\x7e]*)?$/, {
    message: () => "must be a media type such as image/png",
  }),
)

/** What a file message is answered with when its content has no type of its own. */
export const defaultMimeType = "application/octet-stream"

/**
 * A file: its metadata and the state of its upload. `offset` is how many bytes have landed and been kept;
 * `sha256` is the one the uploader declared until the upload ends, then the file's own (`ready`).
 * `expiresAt` is when an unfinished (or failed) upload is removed; a ready file does not expire (`null`).
 */
export class FileRecord extends Schema.Class<FileRecord>("FileRecord")({
  id: FileId,
  tenantId: TenantId,
  ownerId: UserId,
  name: FileName,
  size: Schema.Int.pipe(Schema.between(0, maxFileSize)),
  mimeType: MimeType,
  sha256: Schema.NullOr(Sha256Hex),
  status: FileStatus,
  offset: Schema.Int.pipe(Schema.between(0, maxFileSize)),
  conversationId: Schema.NullOr(ConversationId),
  createdAt: Schema.Number,
  expiresAt: Schema.NullOr(Schema.Number),
}) {
  get isComplete(): boolean {
    return this.offset === this.size
  }
}

/** The digests a chunk may be checked with (tus `checksum` extension). */
export const ChecksumAlgorithm = Schema.Literal("sha1", "sha256", "md5")
export type ChecksumAlgorithm = typeof ChecksumAlgorithm.Type

export class FileNotFound extends Schema.TaggedError<FileNotFound>()("FileNotFound", {
  fileId: Schema.String,
}) {
  readonly code = "file_not_found"
  override get message() {
    return `file ${this.fileId} not found`
  }
}

/** An unfinished upload whose time ran out: it is, or is about to be, removed. */
export class UploadExpired extends Schema.TaggedError<UploadExpired>()("UploadExpired", {
  fileId: FileId,
  expiredAt: Schema.Number,
}) {
  readonly code = "upload_expired"
  override get message() {
    return `upload ${this.fileId} expired at ${new Date(this.expiredAt).toISOString()}; start a new upload`
  }
}

/** A chunk sent for another offset than the one the upload is at. */
export class UploadOffsetMismatch extends Schema.TaggedError<UploadOffsetMismatch>()("UploadOffsetMismatch", {
  fileId: FileId,
  expected: Schema.Number,
  received: Schema.Number,
}) {
  readonly code = "upload_offset_mismatch"
  override get message() {
    return `upload ${this.fileId} is at offset ${this.expected}, not ${this.received}; ask for the offset (HEAD) and resume from there`
  }
}

/** A write to an upload that is no longer taking bytes (ready or failed). */
export class UploadFinished extends Schema.TaggedError<UploadFinished>()("UploadFinished", {
  fileId: FileId,
  status: FileStatus,
}) {
  readonly code = "upload_finished"
  override get message() {
    return `upload ${this.fileId} is already ${this.status}; it takes no more bytes`
  }
}

/** A chunk (`Upload-Checksum`) or the whole file (`sha256` metadata) whose digest is not the one declared. */
export class ChecksumMismatch extends Schema.TaggedError<ChecksumMismatch>()("ChecksumMismatch", {
  fileId: FileId,
  scope: Schema.Literal("chunk", "file"),
  algorithm: ChecksumAlgorithm,
  expected: Schema.String,
  actual: Schema.String,
}) {
  readonly code = "checksum_mismatch"
  override get message() {
    return this.scope === "chunk"
      ? `the chunk's ${this.algorithm} is ${this.actual}, not the declared ${this.expected}; it was discarded, resend it`
      : `the file's sha256 is ${this.actual}, not the declared ${this.expected}; the upload failed`
  }
}

/** A file, or a chunk of one, larger than allowed: over 2 GiB, or past the upload's declared length. */
export class FileTooLarge extends Schema.TaggedError<FileTooLarge>()("FileTooLarge", {
  message: Schema.String,
}) {
  readonly code = "payload_too_large"
}

/** A file that cannot be read or sent yet (or ever): still uploading, or failed. */
export class FileNotReady extends Schema.TaggedError<FileNotReady>()("FileNotReady", {
  fileId: FileId,
  status: FileStatus,
}) {
  readonly code = "file_not_ready"
  override get message() {
    return this.status === "failed"
      ? `file ${this.fileId} failed its checksum; upload it again`
      : `file ${this.fileId} is still uploading`
  }
}

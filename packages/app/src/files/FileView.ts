import type { File } from "@chat4all/domain"
import { Schema } from "effect"
import { Iso, iso } from "../wire/Common.js"

/** A file's metadata on the wire (API.md): times as ISO-8601, nulls where there is nothing. */
export const FileView = Schema.Struct({
  id: Schema.String.annotations({ description: "Made by the server when the upload is created" }),
  name: Schema.String.annotations({ description: "`filename` from Upload-Metadata" }),
  size: Schema.Int.annotations({ description: "Bytes (Upload-Length), at most 2147483648" }),
  mimeType: Schema.String.annotations({
    description: "`filetype` from Upload-Metadata, or application/octet-stream",
  }),
  sha256: Schema.NullOr(Schema.String).annotations({
    description:
      "Hex. While uploading: the one declared in Upload-Metadata (or null); once ready: the file's own",
  }),
  status: Schema.Literal("uploading", "ready", "failed").annotations({
    description: "`failed`: the bytes did not match the declared sha256 (checksum_mismatch)",
  }),
  offset: Schema.Int.annotations({ description: "Bytes received and kept so far" }),
  conversationId: Schema.NullOr(Schema.String).annotations({
    description: "`conversationId` from Upload-Metadata: the conversation the file was uploaded for",
  }),
  createdAt: Iso,
  expiresAt: Schema.NullOr(Iso).annotations({
    description: "When an unfinished or failed upload is removed; null once the file is ready",
  }),
}).annotations({ identifier: "File" })
export type FileView = typeof FileView.Type

export const fromFile = (file: File.FileRecord): FileView => ({
  id: file.id,
  name: file.name,
  size: file.size,
  mimeType: file.mimeType,
  sha256: file.sha256,
  status: file.status,
  offset: file.offset,
  conversationId: file.conversationId,
  createdAt: iso(file.createdAt),
  expiresAt: file.expiresAt === null ? null : iso(file.expiresAt),
})

import { Schema } from "effect"
import { FileId } from "./Ids.js"
import * as Storable from "./Storable.js"

/** Upper bound on a text body, in characters: large enough for any chat message, small enough for a frame. */
export const maxTextLength = 16_384

const Text = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(maxTextLength), Storable.text)

/** `{ type: "text", text }` */
export class TextContent extends Schema.Class<TextContent>("TextContent")({
  type: Schema.Literal("text"),
  text: Text,
}) {}

/** `{ type: "file", fileId, caption? }`: the file must be ready and of the same tenant (checked by the use case). */
export class FileContent extends Schema.Class<FileContent>("FileContent")({
  type: Schema.Literal("file"),
  fileId: FileId,
  caption: Schema.optional(Schema.String.pipe(Schema.maxLength(maxTextLength), Storable.text)),
}) {}

/** `{ type: "system", text }`: written by services and admins only. */
export class SystemContent extends Schema.Class<SystemContent>("SystemContent")({
  type: Schema.Literal("system"),
  text: Text,
}) {}

export const Content = Schema.Union(TextContent, FileContent, SystemContent)
export type Content = typeof Content.Type

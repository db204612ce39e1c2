import { Context, type Effect, type Option } from "effect"
import type { StoreUnavailable } from "../model/Errors.js"
import type { FileRecord } from "../model/File.js"
import type { ConversationId, FileId, TenantId } from "../model/Ids.js"

/**
 * File metadata and upload progress, per tenant, and the conversations each file was sent to (which is
 * who may read it besides its uploader). The bytes live in the `BlobStore`, under the file's id.
 */
export class FileStore extends Context.Tag("@chat4all/domain/FileStore")<
  FileStore,
  {
    /** Records a new file. Ids come from the server, fresh: a second create of one id is a defect. */
    readonly create: (file: FileRecord) => Effect.Effect<void, StoreUnavailable>
    readonly get: (
      tenantId: TenantId,
      fileId: FileId,
    ) => Effect.Effect<Option.Option<FileRecord>, StoreUnavailable>
    /**
     * Moves an uploading file from offset `from` to `to` (not past its size) and sets its expiry, in one
     * compare-and-set: `None` when the file is gone, no longer uploading, or not at `from` any more.
     */
    readonly advance: (
      tenantId: TenantId,
      fileId: FileId,
      move: { readonly from: number; readonly to: number; readonly expiresAt: number },
    ) => Effect.Effect<Option.Option<FileRecord>, StoreUnavailable>
    /**
     * Ends an uploading file at offset `from` whose remaining bytes have landed: its offset becomes its
     * size, and it is `ready` with its sha256 (it then never expires), or `failed` (kept until `expiresAt`
     * so the uploader can see why). The same compare-and-set as `advance`: `None` when the file is gone,
     * no longer uploading, or not at `from` any more.
     */
    readonly finish: (
      tenantId: TenantId,
      fileId: FileId,
      outcome:
        | { readonly from: number; readonly status: "ready"; readonly sha256: string }
        | { readonly from: number; readonly status: "failed"; readonly expiresAt: number },
    ) => Effect.Effect<Option.Option<FileRecord>, StoreUnavailable>
    /** Removes a file and its shares; true when there was one. */
    readonly remove: (tenantId: TenantId, fileId: FileId) => Effect.Effect<boolean, StoreUnavailable>
    /** Unfinished and failed files of every tenant whose `expiresAt` is at or before `now`, oldest first. */
    readonly expired: (
      now: number,
      limit: number,
    ) => Effect.Effect<ReadonlyArray<FileRecord>, StoreUnavailable>
    /** Notes that the file was sent to a conversation; doing it again changes nothing. */
    readonly share: (
      tenantId: TenantId,
      fileId: FileId,
      conversationId: ConversationId,
    ) => Effect.Effect<void, StoreUnavailable>
    /** The conversations the file was sent to, in the order they were first shared. */
    readonly shares: (
      tenantId: TenantId,
      fileId: FileId,
    ) => Effect.Effect<ReadonlyArray<ConversationId>, StoreUnavailable>
  }
>() {}

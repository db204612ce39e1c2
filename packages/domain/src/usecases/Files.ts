import {
  Cause,
  Chunk,
  Context,
  Deferred,
  Effect,
  Exit,
  Fiber,
  FiberId,
  Layer,
  Option,
  Schema,
  type Scope,
  Stream,
} from "effect"
import type { Content } from "../model/Content.js"
import { InvalidRequest } from "../model/Errors.js"
import {
  type ChecksumAlgorithm,
  ChecksumMismatch,
  FileNotFound,
  FileNotReady,
  FileRecord,
  FileTooLarge,
  maxFileSize,
  UploadExpired,
  UploadFinished,
  UploadOffsetMismatch,
} from "../model/File.js"
import type { ConversationId, FileId, TenantId } from "../model/Ids.js"
import { BlobKey, BlobRangeError, BlobStore, type ByteRange } from "../ports/BlobStore.js"
import { now } from "../ports/Clock.js"
import { ConversationStore } from "../ports/ConversationStore.js"
import { FileStore } from "../ports/FileStore.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { readableConversation } from "./Access.js"
import type { Caller } from "./Caller.js"

/** How long an unfinished upload lives after its last progress, unless configured otherwise: 24 hours. */
export const defaultUploadTtlMs = 24 * 60 * 60 * 1000

export interface UploadSettings {
  /** An unfinished (or failed) upload is removed this long after its creation or its last progress. */
  readonly ttlMs: number
}

/**
 * One writer per upload in this process. A request that wants an upload another request is writing asks
 * that one to let go (its body stream ends where it is, what landed is kept) and waits for it: a client
 * that lost its connection and resumes does not wait for the server to notice the old one is dead.
 */
export class UploadLocks extends Context.Tag("@chat4all/domain/UploadLocks")<
  UploadLocks,
  {
    /** Holds the upload for the scope; `released` completes when another request asks for it. */
    readonly acquire: (
      tenantId: TenantId,
      fileId: FileId,
    ) => Effect.Effect<{ readonly released: Effect.Effect<void> }, never, Scope.Scope>
    readonly isHeld: (tenantId: TenantId, fileId: FileId) => boolean
  }
>() {
  static readonly layer = Layer.sync(UploadLocks, () => {
    interface Entry {
      readonly stop: Deferred.Deferred<void>
      readonly done: Deferred.Deferred<void>
    }
    const held = new Map<string, Entry>()
    const keyOf = (tenantId: TenantId, fileId: FileId) => `${tenantId}\u0000${fileId}`
    const acquire = (key: string): Effect.Effect<Entry, never, Scope.Scope> =>
      Effect.flatMap(
        // The check and the claim happen in one synchronous step: nothing can run between them.
        Effect.acquireRelease(
          Effect.sync((): { readonly busy: Entry } | { readonly mine: Entry } => {
            const busy = held.get(key)
            if (busy !== undefined) return { busy }
            const mine = {
              stop: Deferred.unsafeMake<void>(FiberId.none),
              done: Deferred.unsafeMake<void>(FiberId.none),
            }
            held.set(key, mine)
            return { mine }
          }),
          (claim) =>
            "mine" in claim
              ? Effect.zipRight(
                  Effect.sync(() => {
                    if (held.get(key) === claim.mine) held.delete(key)
                  }),
                  Deferred.succeed(claim.mine.done, undefined),
                )
              : Effect.void,
        ),
        (claim) =>
          "mine" in claim
            ? Effect.succeed(claim.mine)
            : Deferred.succeed(claim.busy.stop, undefined).pipe(
                Effect.zipRight(Deferred.await(claim.busy.done)),
                Effect.zipRight(Effect.suspend(() => acquire(key))),
              ),
      )
    return {
      acquire: (tenantId, fileId) =>
        Effect.map(acquire(keyOf(tenantId, fileId)), (entry) => ({ released: Deferred.await(entry.stop) })),
      isHeld: (tenantId, fileId) => held.has(keyOf(tenantId, fileId)),
    }
  })
}

const decodeKey = Schema.decodeSync(BlobKey)

/** Where a file's bytes live: its id, which the server made (a seed id always fits a blob key). */
export const blobKeyOf = (fileId: FileId): BlobKey => decodeKey(fileId)

const isExpired = (file: FileRecord, at: number) =>
  file.status !== "ready" && file.expiresAt !== null && file.expiresAt <= at

/** What the uploader declares when creating an upload (tus `Upload-Length` and `Upload-Metadata`). */
export interface NewUpload {
  readonly length: number
  readonly name: FileRecord["name"]
  readonly mimeType: FileRecord["mimeType"]
  /** The whole file's sha256 (lower-case hex), checked when the last byte lands. */
  readonly sha256?: string | undefined
  /** The conversation the file is meant for: the uploader must be able to read it. */
  readonly conversationId?: ConversationId | undefined
}

/** A chunk of an upload (tus `PATCH`, or the body of a creation-with-upload). */
export interface UploadChunk<E> {
  /** Where the client believes the upload is (`Upload-Offset`). */
  readonly offset: number
  /** The chunk's length when the client said it (`Content-Length`): refused up front when too long. */
  readonly length?: number | undefined
  /** `Upload-Checksum`: the chunk is kept only when its digest (lower-case hex) is this one. */
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly digest: string } | undefined
  readonly data: Stream.Stream<Uint8Array, E>
}

/** An upload of the caller's: another user's (or tenant's) does not exist for them. */
const ownUpload = (caller: Caller, fileId: FileId) =>
  Effect.gen(function* () {
    const files = yield* FileStore
    const found = yield* files.get(caller.tenantId, fileId)
    if (Option.isNone(found) || found.value.ownerId !== caller.userId)
      return yield* new FileNotFound({ fileId })
    const file = found.value
    if (isExpired(file, yield* now)) return yield* new UploadExpired({ fileId, expiredAt: file.expiresAt! })
    return file
  })

/**
 * Ends an upload whose last byte is in the blob: its sha256, checked against the declared one, makes it
 * `ready`; a mismatch makes it `failed` (its bytes are dropped) and answers `ChecksumMismatch`.
 */
const finishUpload = (file: FileRecord, from: number, settings: UploadSettings) =>
  Effect.gen(function* () {
    const files = yield* FileStore
    const blobs = yield* BlobStore
    const key = blobKeyOf(file.id)
    const sha256 = yield* blobs.digest(key, "sha256").pipe(Effect.catchTag("BlobNotFound", Effect.die))
    if (file.sha256 !== null && file.sha256 !== sha256) {
      const failed = yield* files.finish(file.tenantId, file.id, {
        from,
        status: "failed",
        expiresAt: (yield* now) + settings.ttlMs,
      })
      if (Option.isNone(failed))
        return yield* new UploadOffsetMismatch({ fileId: file.id, expected: -1, received: from })
      yield* blobs.delete(key)
      return yield* new ChecksumMismatch({
        fileId: file.id,
        scope: "file",
        algorithm: "sha256",
        expected: file.sha256,
        actual: sha256,
      })
    }
    const ready = yield* files.finish(file.tenantId, file.id, { from, status: "ready", sha256 })
    if (Option.isNone(ready))
      return yield* new UploadOffsetMismatch({ fileId: file.id, expected: -1, received: from })
    return ready.value
  })

/**
 * Starts an upload for the caller: a fresh file id, status `uploading`, offset 0, expiring `ttlMs` from now.
 * An empty file is ready (or failed, against a wrong sha256) at once.
 */
export const createUpload = (caller: Caller, input: NewUpload, settings: UploadSettings) =>
  Effect.gen(function* () {
    if (!Number.isSafeInteger(input.length) || input.length < 0)
      return yield* new InvalidRequest({
        field: "length",
        message: "must be a whole number of bytes, 0 or more",
      })
    if (input.length > maxFileSize)
      return yield* new FileTooLarge({
        message: `the file is ${input.length} bytes; at most ${maxFileSize} (2 GiB) are accepted`,
      })
    if (input.conversationId !== undefined) yield* readableConversation(caller, input.conversationId)
    const ids = yield* IdGenerator
    const files = yield* FileStore
    const createdAt = yield* now
    const file = new FileRecord({
      id: (yield* ids.eventId) as string as FileId,
      tenantId: caller.tenantId,
      ownerId: caller.userId,
      name: input.name,
      size: input.length,
      mimeType: input.mimeType,
      sha256: input.sha256 ?? null,
      status: "uploading",
      offset: 0,
      conversationId: input.conversationId ?? null,
      createdAt,
      expiresAt: createdAt + settings.ttlMs,
    })
    yield* files.create(file)
    if (file.size > 0) return file
    const blobs = yield* BlobStore
    yield* blobs
      .write(blobKeyOf(file.id), 0, Stream.empty)
      .pipe(Effect.catchTag("BlobRangeError", (error) => Effect.die(error)))
    return yield* finishUpload(file, 0, settings)
  })

/**
 * Appends a chunk to one of the caller's uploads, at the offset it is at.
 *
 * - Another offset: `UploadOffsetMismatch`; more bytes than the upload has left: `FileTooLarge`; an
 *   `Upload-Checksum` that does not match: `ChecksumMismatch`. Each changes nothing: the chunk's bytes are
 *   cut off again and the offset stays.
 * - A body that breaks off (the client went away, or another request took the upload over) keeps what
 *   landed, unless it carried a checksum (then nothing of it is kept): the client resumes from there.
 * - The last byte finishes the upload (see `finishUpload`). Progress moves the expiry to `ttlMs` from now.
 */
export const appendUpload = <E>(
  caller: Caller,
  fileId: FileId,
  chunk: UploadChunk<E>,
  settings: UploadSettings,
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const locks = yield* UploadLocks
      const lock = yield* locks.acquire(caller.tenantId, fileId)
      const file = yield* ownUpload(caller, fileId)
      if (file.status !== "uploading") return yield* new UploadFinished({ fileId, status: file.status })
      if (chunk.offset !== file.offset)
        return yield* new UploadOffsetMismatch({ fileId, expected: file.offset, received: chunk.offset })
      const remaining = file.size - file.offset
      const tooLarge = (length: number | string) =>
        new FileTooLarge({
          message: `the chunk is ${length} bytes but upload ${fileId} has ${remaining} of its ${file.size} left`,
        })
      if (chunk.length !== undefined && chunk.length > remaining) return yield* tooLarge(chunk.length)

      const blobs = yield* BlobStore
      const key = blobKeyOf(file.id)
      let seen = 0
      const data = chunk.data.pipe(
        // Counted a chunk at a time, which keeps the stream's chunks whole for the store's vectored writes.
        Stream.mapChunksEffect((bytes) => {
          seen += Chunk.reduce(bytes, 0, (n, b) => n + b.length)
          return seen > remaining ? Effect.fail(tooLarge(`at least ${seen}`)) : Effect.succeed(bytes)
        }),
      )
      const discard = Effect.orDie(
        blobs.truncate(key, file.offset).pipe(Effect.catchTag("BlobNotFound", () => Effect.void)),
      )

      return yield* Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          // The write runs in a fiber of its own. It is stopped (interrupted, between two of its writes) when
          // another request asks for the upload or this one is interrupted, and always awaited to its end, so
          // that what it wrote is on disk before the upload's offset is read from the blob. Racing the whole
          // write costs nothing per chunk, unlike a check on every pull.
          const writer = yield* Effect.fork(
            restore(
              blobs
                .write(key, file.offset, data, {
                  digests: chunk.checksum === undefined ? [] : [chunk.checksum.algorithm],
                })
                .pipe(
                  Effect.catchIf(
                    (error): error is BlobRangeError => error instanceof BlobRangeError,
                    (error) =>
                      Effect.dieMessage(
                        `upload ${fileId} is recorded at ${file.offset} bytes but ${error.message}`,
                      ),
                  ),
                ),
            ),
          )
          const waited = yield* Effect.exit(restore(Effect.raceFirst(Fiber.await(writer), lock.released)))
          const written = yield* Fiber.interrupt(writer)
          // This request itself was interrupted (its client went away): what the write kept is recorded below,
          // then the interruption goes on.
          const interrupted = Exit.isFailure(waited) ? waited.cause : undefined

          if (Exit.isSuccess(written)) {
            const result = written.value
            const checksum = chunk.checksum
            const actual = checksum === undefined ? undefined : result.digests[checksum.algorithm]
            if (checksum !== undefined && actual !== checksum.digest) {
              yield* discard
              return yield* new ChecksumMismatch({
                fileId,
                scope: "chunk",
                algorithm: checksum.algorithm,
                expected: checksum.digest,
                actual: actual ?? "",
              })
            }
            const done = yield* progress(file, result.size, settings)
            return interrupted === undefined ? done : yield* Effect.failCause(interrupted)
          }
          // The body broke off (the client went away, its stream failed, or a newer request took the upload
          // over): what landed is kept, so the client resumes after it — unless the chunk carried a checksum,
          // which it can no longer match.
          const failure = Cause.failureOption(written.cause)
          const tag = Option.isSome(failure) ? tagOf(failure.value) : undefined
          const brokenOff =
            Cause.isInterruptedOnly(written.cause) || (tag !== "FileTooLarge" && tag !== "StoreUnavailable")
          if (!brokenOff || chunk.checksum !== undefined) {
            yield* discard
            if (Cause.isInterruptedOnly(written.cause) && interrupted === undefined) return file
            return yield* Effect.failCause(interrupted ?? written.cause)
          }
          const landed = Option.getOrElse(yield* Effect.orDie(blobs.size(key)), () => file.offset)
          const kept = yield* progress(file, landed, settings)
          // Taken over by a newer request: answer where this one got to.
          if (Cause.isInterruptedOnly(written.cause) && interrupted === undefined) return kept
          return yield* Effect.failCause(interrupted ?? written.cause)
        }),
      )
    }),
  )

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : undefined

/** Records that the upload reached `to`: finished when that is its size, moved (and its expiry) otherwise. */
const progress = (file: FileRecord, to: number, settings: UploadSettings) => {
  if (to === file.offset) return Effect.succeed(file)
  if (to === file.size) return finishUpload(file, file.offset, settings)
  return advance(file, to, settings)
}

const advance = (file: FileRecord, to: number, settings: UploadSettings) =>
  Effect.gen(function* () {
    const files = yield* FileStore
    const moved = yield* files.advance(file.tenantId, file.id, {
      from: file.offset,
      to,
      expiresAt: (yield* now) + settings.ttlMs,
    })
    if (Option.isNone(moved))
      return yield* new UploadOffsetMismatch({ fileId: file.id, expected: -1, received: file.offset })
    return moved.value
  })

/** The state of one of the caller's uploads (tus `HEAD`): an expired one answers `UploadExpired`. */
export const uploadStatus = (caller: Caller, fileId: FileId) => ownUpload(caller, fileId)

/**
 * Removes a file and its bytes (tus termination): its uploader may, and services and admins of its tenant.
 * A request writing to it is stopped first.
 */
export const terminateUpload = (caller: Caller, fileId: FileId) =>
  Effect.scoped(
    Effect.gen(function* () {
      const files = yield* FileStore
      const found = yield* files.get(caller.tenantId, fileId)
      if (Option.isNone(found) || (found.value.ownerId !== caller.userId && !caller.isPrivileged))
        return yield* new FileNotFound({ fileId })
      const locks = yield* UploadLocks
      yield* locks.acquire(caller.tenantId, fileId)
      const blobs = yield* BlobStore
      // Bytes first: a crash in between leaves a record that the next attempt (or the expiry) removes.
      yield* blobs.delete(blobKeyOf(found.value.id))
      yield* files.remove(caller.tenantId, fileId)
    }),
  )

/**
 * A file the caller may read: their own upload; any file of their tenant for services and admins; a file
 * sent to a conversation they are a member of. Anything else — another tenant's, an unshared one, an
 * expired upload — is `FileNotFound` (or `UploadExpired` for the uploader).
 */
export const readableFile = (caller: Caller, fileId: FileId) =>
  Effect.gen(function* () {
    const files = yield* FileStore
    const found = yield* files.get(caller.tenantId, fileId)
    if (Option.isNone(found)) return yield* new FileNotFound({ fileId })
    const file = found.value
    const at = yield* now
    if (file.ownerId === caller.userId || caller.isPrivileged) {
      if (isExpired(file, at)) return yield* new UploadExpired({ fileId, expiredAt: file.expiresAt! })
      return file
    }
    if (file.status !== "ready") return yield* new FileNotFound({ fileId })
    const conversations = yield* ConversationStore
    for (const conversationId of yield* files.shares(caller.tenantId, fileId)) {
      const conversation = yield* conversations.get(caller.tenantId, conversationId)
      if (Option.isSome(conversation) && conversation.value.isMember(caller.userId)) return file
    }
    return yield* new FileNotFound({ fileId })
  })

/** The metadata of a file the caller may read. */
export const getFile = readableFile

/**
 * The bytes of a ready file the caller may read: the file, and a function streaming all of it or a range
 * (which the edge has checked against `file.size`).
 */
export const fileContent = (caller: Caller, fileId: FileId) =>
  Effect.gen(function* () {
    const file = yield* readableFile(caller, fileId)
    if (file.status !== "ready") return yield* new FileNotReady({ fileId, status: file.status })
    const blobs = yield* BlobStore
    const key = blobKeyOf(file.id)
    return {
      file,
      read: (range?: ByteRange) =>
        blobs.read(key, range).pipe(
          Stream.catchTags({
            BlobNotFound: () => Stream.die(new Error(`file ${file.id} is ready but its bytes are missing`)),
            BlobRangeError: (error) => Stream.die(error),
          }),
        ),
    }
  })

/**
 * The rule for `file` messages, for the send path: the file must be one the sender may read, of their
 * tenant, and ready. Other content passes. Without a `FileStore` in context, file messages are refused.
 */
export const checkFileContent = (caller: Caller, content: Content) =>
  Effect.gen(function* () {
    if (content.type !== "file") return
    const store = yield* Effect.serviceOption(FileStore)
    if (Option.isNone(store))
      return yield* new InvalidRequest({
        field: "content.fileId",
        message: "this server does not store files",
      })
    const file = yield* readableFile(caller, content.fileId).pipe(
      Effect.provideService(FileStore, store.value),
      Effect.catchTags({
        FileNotFound: () =>
          new InvalidRequest({ field: "content.fileId", message: `no file ${content.fileId}` }),
        UploadExpired: () =>
          new InvalidRequest({ field: "content.fileId", message: `upload ${content.fileId} expired` }),
      }),
    )
    if (file.status !== "ready")
      return yield* new InvalidRequest({
        field: "content.fileId",
        message: `file ${file.id} is ${file.status === "failed" ? "failed" : "still uploading"}; only ready files can be sent`,
      })
  })

/**
 * After a `file` message is committed (or replayed): its conversation's members may now read the file.
 * Idempotent, so a retried send repairs a share that a crash right after the commit lost.
 */
export const shareFileContent = (caller: Caller, conversationId: ConversationId, content: Content) =>
  Effect.gen(function* () {
    if (content.type !== "file") return
    const store = yield* Effect.serviceOption(FileStore)
    if (Option.isSome(store)) yield* store.value.share(caller.tenantId, content.fileId, conversationId)
  })

/**
 * Removes unfinished and failed uploads whose time ran out, up to `limit` of them, skipping any a request
 * is writing to right now: bytes first, then the record. Answers how many were removed.
 */
export const sweepExpired = (limit: number) =>
  Effect.gen(function* () {
    const files = yield* FileStore
    const blobs = yield* BlobStore
    const locks = yield* UploadLocks
    let removed = 0
    for (const file of yield* files.expired(yield* now, limit)) {
      if (locks.isHeld(file.tenantId, file.id)) continue
      yield* blobs.delete(blobKeyOf(file.id))
      if (yield* files.remove(file.tenantId, file.id)) removed++
    }
    return removed
  })

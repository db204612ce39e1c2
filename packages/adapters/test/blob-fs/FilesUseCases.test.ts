import { createHash } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import {
  BlobStore,
  Caller,
  Content,
  type File as FileModel,
  FileStore,
  Files,
  type Ids,
} from "@chat4all/domain"
import { Fixtures, Storage, TestIdGenerator } from "@chat4all/domain/testing"
import { assert, describe, layer } from "@effect/vitest"
import {
  Cause,
  Deferred,
  Effect,
  Either,
  Exit,
  Fiber,
  Layer,
  Option,
  Stream,
  TestClock,
  TestContext,
} from "effect"
import { afterAll } from "vitest"
import { FsBlobStore } from "../../src/blob-fs/index.js"
import { MemoryFileStore, storageLayer } from "../../src/memory/index.js"

const directory = mkdtempSync(NodePath.join(tmpdir(), "chat4all-files-"))
afterAll(() => rmSync(directory, { recursive: true, force: true }))

const env = Layer.mergeAll(
  storageLayer,
  MemoryFileStore.layer,
  FsBlobStore.layer({ directory }),
  Files.UploadLocks.layer,
  TestIdGenerator.layer,
)

const settings: Files.UploadSettings = { ttlMs: 60_000 }
const bytes = (text: string) => new TextEncoder().encode(text)
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")
const digest = (algorithm: string, text: string) => createHash(algorithm).update(text).digest("hex")
const caller = (tenantId: Ids.TenantId, user: string, role: Caller.Role = "user") =>
  new Caller.Caller({ tenantId, userId: Fixtures.user(user), role })

const upload = (who: Caller.Caller, length: number, extra: Partial<Files.NewUpload> = {}) =>
  Files.createUpload(
    who,
    { length, name: "notes.txt" as FileModel.FileRecord["name"], mimeType: "text/plain", ...extra },
    settings,
  )

const append = <E = never>(
  who: Caller.Caller,
  file: FileModel.FileRecord,
  offset: number,
  data: Stream.Stream<Uint8Array, E> | string,
  extra: Partial<Files.UploadChunk<E>> = {},
) =>
  Files.appendUpload(
    who,
    file.id,
    { offset, data: typeof data === "string" ? Stream.make(bytes(data)) : data, ...extra },
    settings,
  )

/** The stored record and the blob's size: what "changes nothing" is checked against. */
const state = (file: FileModel.FileRecord) =>
  Effect.gen(function* () {
    const record = yield* (yield* FileStore.FileStore).get(file.tenantId, file.id)
    const size = yield* (yield* BlobStore.BlobStore).size(Files.blobKeyOf(file.id))
    return { record: Option.getOrNull(record), blobSize: Option.getOrNull(size) }
  })

const failureTag = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit)
    ? Option.match(Cause.failureOption(exit.cause), {
        onNone: () => (Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "defect"),
        onSome: (e) => (e as { _tag?: string })._tag ?? String(e),
      })
    : "success"

describe("Files use cases", () => {
  layer(env, { excludeTestServices: true })((it) => {
    it.effect("uploads in chunks to a ready file with its sha256", () =>
      Effect.gen(function* () {
        const ann = caller(Fixtures.freshTenant(), "ann")
        const file = yield* upload(ann, 11, { sha256: sha256("hello world") })
        assert.deepStrictEqual(
          [file.status, file.offset, file.expiresAt! - file.createdAt],
          ["uploading", 0, 60_000],
        )
        const half = yield* append(ann, file, 0, "hello ")
        assert.deepStrictEqual([half.offset, half.status], [6, "uploading"])
        const done = yield* append(ann, file, 6, Stream.make(bytes("wor"), bytes("ld")), {
          checksum: { algorithm: "md5", digest: digest("md5", "world") },
        })
        assert.deepStrictEqual(
          [done.offset, done.status, done.sha256, done.expiresAt],
          [11, "ready", sha256("hello world"), null],
        )
        const { read } = yield* Files.fileContent(ann, file.id)
        const text = new TextDecoder().decode(Buffer.concat([...(yield* Stream.runCollect(read()))]))
        assert.strictEqual(text, "hello world")
      }),
    )

    it.effect("an empty file is ready at once, or failed against a wrong sha256", () =>
      Effect.gen(function* () {
        const ann = caller(Fixtures.freshTenant(), "ann")
        const empty = yield* upload(ann, 0)
        assert.deepStrictEqual([empty.status, empty.sha256], ["ready", sha256("")])
        const wrong = yield* Effect.either(upload(ann, 0, { sha256: sha256("x") }))
        assert.isTrue(Either.isLeft(wrong) && wrong.left._tag === "ChecksumMismatch")
      }),
    )

    it.effect(
      "refuses a wrong offset, a chunk past the length and a bad chunk checksum, changing nothing",
      () =>
        Effect.gen(function* () {
          const ann = caller(Fixtures.freshTenant(), "ann")
          const file = yield* upload(ann, 10)
          yield* append(ann, file, 0, "abcd")
          const before = yield* state(file)
          assert.deepStrictEqual([before.record?.offset, before.blobSize], [4, 4])

          const mismatch = yield* Effect.either(append(ann, file, 3, "xyz"))
          assert.isTrue(Either.isLeft(mismatch) && mismatch.left._tag === "UploadOffsetMismatch")
          assert.deepStrictEqual(yield* state(file), before)

          const declaredTooLong = yield* Effect.exit(append(ann, file, 4, "0123456", { length: 7 }))
          assert.strictEqual(failureTag(declaredTooLong), "FileTooLarge")
          assert.deepStrictEqual(yield* state(file), before)

          // No length declared: the overrun is found while streaming, and what was written is cut off again.
          const streamedTooLong = yield* Effect.exit(
            append(ann, file, 4, Stream.make(bytes("0123"), bytes("456"))),
          )
          assert.strictEqual(failureTag(streamedTooLong), "FileTooLarge")
          assert.deepStrictEqual(yield* state(file), before)

          const badChecksum = yield* Effect.exit(
            append(ann, file, 4, "efgh", { checksum: { algorithm: "sha1", digest: digest("sha1", "EFGH") } }),
          )
          assert.strictEqual(failureTag(badChecksum), "ChecksumMismatch")
          assert.deepStrictEqual(yield* state(file), before)

          const good = yield* append(ann, file, 4, "efgh", {
            checksum: { algorithm: "sha1", digest: digest("sha1", "efgh") },
          })
          assert.strictEqual(good.offset, 8)
        }),
    )

    it.effect("fails the upload when the whole file does not match the declared sha256", () =>
      Effect.gen(function* () {
        const ann = caller(Fixtures.freshTenant(), "ann")
        const file = yield* upload(ann, 5, { sha256: sha256("right") })
        const exit = yield* Effect.exit(append(ann, file, 0, "wrong"))
        assert.strictEqual(failureTag(exit), "ChecksumMismatch")
        const after = yield* state(file)
        assert.deepStrictEqual(
          [after.record?.status, after.record?.offset, after.blobSize],
          ["failed", 5, null],
        )
        assert.isNotNull(after.record?.expiresAt)
        const again = yield* Effect.either(append(ann, file, 5, ""))
        assert.isTrue(Either.isLeft(again) && again.left._tag === "UploadFinished")
        const content = yield* Effect.either(Files.fileContent(ann, file.id))
        assert.isTrue(Either.isLeft(content) && content.left._tag === "FileNotReady")
      }),
    )

    it.effect("keeps what landed of a body that broke off, unless it carried a checksum", () =>
      Effect.gen(function* () {
        const ann = caller(Fixtures.freshTenant(), "ann")
        const file = yield* upload(ann, 20)
        const broken = Stream.make(bytes("part1"), bytes("part2")).pipe(
          Stream.concat(Stream.fail("reset" as const)),
        )
        const exit = yield* Effect.exit(append(ann, file, 0, broken))
        assert.strictEqual(failureTag(exit), "reset")
        assert.deepStrictEqual((yield* state(file)).record?.offset, 10)
        const withChecksum = yield* Effect.exit(
          append(
            ann,
            file,
            10,
            Stream.make(bytes("part3")).pipe(Stream.concat(Stream.fail("reset" as const))),
            {
              checksum: { algorithm: "sha256", digest: sha256("part3part4") },
            },
          ),
        )
        assert.strictEqual(failureTag(withChecksum), "reset")
        const after = yield* state(file)
        assert.deepStrictEqual([after.record?.offset, after.blobSize], [10, 10])
      }),
    )

    it.effect(
      "keeps what landed when the request is interrupted, and a newer request takes the upload over",
      () =>
        Effect.gen(function* () {
          const ann = caller(Fixtures.freshTenant(), "ann")
          const file = yield* upload(ann, 30)
          const pulled = yield* Deferred.make<void>()
          const stalled = (text: string) =>
            Stream.make(bytes(text)).pipe(
              Stream.concat(
                Stream.fromEffect(Effect.zipRight(Deferred.succeed(pulled, undefined), Effect.never)),
              ),
            )
          const first = yield* Effect.fork(append(ann, file, 0, stalled("aaaaa")))
          yield* Deferred.await(pulled)
          yield* Fiber.interrupt(first)
          assert.strictEqual((yield* state(file)).record?.offset, 5)

          // A request stalled mid-body holds the upload; a resuming one makes it let go and goes on after it.
          const pulledAgain = yield* Deferred.make<void>()
          const second = yield* Effect.fork(
            append(
              ann,
              file,
              5,
              Stream.make(bytes("bbbbb")).pipe(
                Stream.concat(
                  Stream.fromEffect(Effect.zipRight(Deferred.succeed(pulledAgain, undefined), Effect.never)),
                ),
              ),
            ),
          )
          yield* Deferred.await(pulledAgain)
          const third = yield* append(ann, file, 10, "ccccc")
          assert.strictEqual(third.offset, 15)
          const released = yield* Fiber.join(second)
          assert.strictEqual(released.offset, 10)
        }),
    )

    it.effect(
      "keeps uploads to their owner, and files to those they were shared with, within the tenant",
      () =>
        Effect.gen(function* () {
          const tenant = Fixtures.freshTenant()
          const ann = caller(tenant, "ann")
          const bob = caller(tenant, "bob")
          const carol = caller(tenant, "carol")
          const service = caller(tenant, "svc", "service")
          const stranger = caller(Fixtures.freshTenant(), "ann")
          const conversation = yield* Storage.createConversation(tenant, "group", ["ann", "bob"])
          const file = yield* upload(ann, 3, { conversationId: conversation.id })

          for (const who of [bob, stranger]) {
            const head = yield* Effect.either(Files.uploadStatus(who, file.id))
            assert.isTrue(Either.isLeft(head) && head.left._tag === "FileNotFound")
            const write = yield* Effect.either(append(who, file, 0, "abc"))
            assert.isTrue(Either.isLeft(write) && write.left._tag === "FileNotFound")
            const drop = yield* Effect.either(Files.terminateUpload(who, file.id))
            assert.isTrue(Either.isLeft(drop) && drop.left._tag === "FileNotFound")
          }
          yield* append(ann, file, 0, "abc")

          // Not shared yet: only the uploader (and services of the tenant) can read it.
          assert.strictEqual((yield* Files.getFile(ann, file.id)).status, "ready")
          assert.strictEqual((yield* Files.getFile(service, file.id)).id, file.id)
          for (const who of [bob, carol, stranger]) {
            const read = yield* Effect.either(Files.fileContent(who, file.id))
            assert.isTrue(Either.isLeft(read) && read.left._tag === "FileNotFound")
          }
          const fileMessage = new Content.FileContent({ type: "file", fileId: file.id })
          yield* Files.checkFileContent(ann, fileMessage)
          yield* Files.shareFileContent(ann, conversation.id, fileMessage)
          assert.strictEqual((yield* Files.fileContent(bob, file.id)).file.id, file.id)
          for (const who of [carol, stranger]) {
            const read = yield* Effect.either(Files.fileContent(who, file.id))
            assert.isTrue(Either.isLeft(read) && read.left._tag === "FileNotFound")
          }
          // Bob may forward what he can read; Carol may not reference what she cannot.
          yield* Files.checkFileContent(bob, fileMessage)
          const carolSends = yield* Effect.either(Files.checkFileContent(carol, fileMessage))
          assert.isTrue(Either.isLeft(carolSends) && carolSends.left._tag === "InvalidRequest")
          const strangerSends = yield* Effect.either(Files.checkFileContent(stranger, fileMessage))
          assert.isTrue(Either.isLeft(strangerSends) && strangerSends.left._tag === "InvalidRequest")
        }),
    )

    it.effect("refuses to send a file that is not ready, or unknown, or without file storage", () =>
      Effect.gen(function* () {
        const ann = caller(Fixtures.freshTenant(), "ann")
        const file = yield* upload(ann, 4)
        const pending = new Content.FileContent({ type: "file", fileId: file.id })
        const notReady = yield* Effect.either(Files.checkFileContent(ann, pending))
        assert.isTrue(
          Either.isLeft(notReady) &&
            notReady.left._tag === "InvalidRequest" &&
            notReady.left.field === "content.fileId",
        )
        const unknown = new Content.FileContent({ type: "file", fileId: "nope" as Ids.FileId })
        const missing = yield* Effect.either(Files.checkFileContent(ann, unknown))
        assert.isTrue(
          Either.isLeft(missing) &&
            missing.left._tag === "InvalidRequest" &&
            missing.left.field === "content.fileId",
        )
        yield* Files.checkFileContent(ann, new Content.TextContent({ type: "text", text: "hi" }))
        const withoutStore = yield* Effect.either(
          Files.checkFileContent(ann, pending).pipe(Effect.provide(Layer.mergeAll(storageLayer))),
        )
        assert.isTrue(Either.isLeft(withoutStore) && withoutStore.left._tag === "InvalidRequest")
      }),
    )

    it.effect("removes expired uploads and their bytes, but not one being written", () =>
      Effect.gen(function* () {
        // On the TestClock: time moves only when told to, however loaded the machine is.
        const ann = caller(Fixtures.freshTenant(), "ann")
        const idle = yield* upload(ann, 10)
        yield* append(ann, idle, 0, "12")
        const busy = yield* upload(ann, 10)
        const ready = yield* upload(ann, 0)
        yield* TestClock.adjust(settings.ttlMs - 1)
        assert.strictEqual((yield* Files.uploadStatus(ann, idle.id)).offset, 2)
        yield* TestClock.adjust(1)
        const expired = yield* Effect.either(Files.uploadStatus(ann, idle.id))
        assert.isTrue(Either.isLeft(expired) && expired.left._tag === "UploadExpired")
        const late = yield* Effect.either(append(ann, idle, 2, "34"))
        assert.isTrue(Either.isLeft(late) && late.left._tag === "UploadExpired")

        const locks = yield* Files.UploadLocks
        const removed = yield* Effect.scoped(
          Effect.zipRight(locks.acquire(ann.tenantId, busy.id), Files.sweepExpired(1000)),
        )
        assert.strictEqual(removed, 1)
        assert.deepStrictEqual(yield* state(idle), { record: null, blobSize: null })
        assert.isNotNull((yield* state(busy)).record)
        assert.strictEqual((yield* state(ready)).record?.status, "ready")
        assert.strictEqual(yield* Files.sweepExpired(1000), 1)
        assert.isNull((yield* state(busy)).record)
      }).pipe(Effect.provide(TestContext.TestContext)),
    )

    it.effect("terminates an upload with its bytes", () =>
      Effect.gen(function* () {
        const ann = caller(Fixtures.freshTenant(), "ann")
        const file = yield* upload(ann, 10)
        yield* append(ann, file, 0, "1234")
        yield* Files.terminateUpload(ann, file.id)
        assert.deepStrictEqual(yield* state(file), { record: null, blobSize: null })
        const again = yield* Effect.either(Files.uploadStatus(ann, file.id))
        assert.isTrue(Either.isLeft(again) && again.left._tag === "FileNotFound")
      }),
    )
  })
})
